#pragma once
// The one place vtrans includes xtensor. Debian 12 ships xtensor 0.24 with flat include paths
// (xtensor/xtensor.hpp); xtensor 0.26+ moved them (xtensor/containers/xtensor.hpp).
#if __has_include(<xtensor/containers/xtensor.hpp>)
#include <xtensor/containers/xadapt.hpp>
#include <xtensor/containers/xtensor.hpp>
#else
#include <xtensor/xadapt.hpp>
#include <xtensor/xtensor.hpp>
#endif

// xtensor-blas's linear algebra (used as an independent reference in tests), on request.
#if defined(VTRANS_WITH_XTENSOR_BLAS)
#if __has_include(<xtensor-blas/xlinalg.hpp>)
#include <xtensor-blas/xlinalg.hpp>
#endif
#endif
