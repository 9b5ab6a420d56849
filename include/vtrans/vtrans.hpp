#pragma once
// vtrans: one include for the whole library.
#include "vtrans/autodiff/autodiff.hpp"
#include "vtrans/autodiff/gradcheck.hpp"
#include "vtrans/tensor/backend.hpp"
#include "vtrans/tensor/cpu.hpp"
#include "vtrans/tensor/openblas_runtime.hpp"
#include "vtrans/tensor/tensor.hpp"
#include "vtrans/version.hpp"

static_assert(vtrans::is_backend_v<vtrans::cpu>, "the cpu backend must implement the backend contract");
