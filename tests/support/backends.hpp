#pragma once
// The backends every backend-generic test runs on (TEST_CASE_TEMPLATE(..., B, VTRANS_TEST_BACKENDS)).
#include "vtrans/tensor/cpu.hpp"

#if defined(VTRANS_TEST_THRUST_OMP)
#include "vtrans/tensor/thrust_backend.hpp"
#define VTRANS_TEST_BACKENDS vtrans::cpu, vtrans::thrust_backend<vtrans::thrust_omp>
#else
#define VTRANS_TEST_BACKENDS vtrans::cpu
#endif
