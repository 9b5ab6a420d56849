#pragma once
// Reverse-mode autodiff: vars, params, the tape and every differentiable op.
#include "vtrans/autodiff/ids.hpp"
#include "vtrans/autodiff/ops_attention.hpp"
#include "vtrans/autodiff/ops_dropout.hpp"
#include "vtrans/autodiff/ops_elementwise.hpp"
#include "vtrans/autodiff/ops_embedding.hpp"
#include "vtrans/autodiff/ops_linear.hpp"
#include "vtrans/autodiff/ops_loss.hpp"
#include "vtrans/autodiff/ops_norm.hpp"
#include "vtrans/autodiff/ops_shape.hpp"
#include "vtrans/autodiff/ops_softmax.hpp"
#include "vtrans/autodiff/tape.hpp"
#include "vtrans/autodiff/var.hpp"
