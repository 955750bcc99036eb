// Op codes of the elementwise kernels; the same numbers are in src/tensor/native/elementwise.ts.
#pragma once
#include <cmath>
#include <cstdint>

#include "nn/vec_math.h"

namespace peftjs {

enum UnaryOp : int {
  U_NEG = 0, U_EXP, U_LOG, U_SQRT, U_RSQRT, U_ABS, U_TANH, U_SIGMOID, U_RELU, U_GELU_ERF,
  U_GELU_TANH, U_SILU, U_SOFTPLUS, U_SIN, U_COS, U_SIGN, U_SQUARE, U_RECIPROCAL, U_LOG1P, U_EXPM1,
  U_ERF, U_FLOOR, U_CEIL, U_ADD_SCALAR, U_MUL_SCALAR, U_POW_SCALAR, U_CLAMP, U_RSUB_SCALAR,
  U_RPOW_SCALAR, U_LOGICAL_NOT, U_ROUND, U_NUM_OPS
};

enum BinaryOp : int {
  B_ADD = 0, B_SUB, B_MUL, B_DIV, B_POW, B_MAXIMUM, B_MINIMUM, B_EQ, B_NE, B_LT, B_LE, B_GT, B_GE,
  B_AND, B_OR, B_GELU_ERF_BWD, B_GELU_TANH_BWD, B_SILU_BWD, B_SIGMOID_BWD, B_TANH_BWD, B_RELU_BWD,
  B_SOFTPLUS_BWD, B_ATAN2, B_NUM_OPS
};

inline bool is_comparison(int op) { return (op >= B_EQ && op <= B_GE) || op == B_AND || op == B_OR; }

// Scalar definitions; the kernels call these in loops the compiler vectorises. The activations of
// transformer MLPs (tanh-GELU, SiLU) use nn::vexp, which vectorises where std::exp / std::tanh are
// scalar library calls (about 20 ns an element).
template <typename T>
inline T unary_apply(int op, T x, T s0, T s1) {
  using std::exp;
  switch (op) {
    case U_NEG: return -x;
    case U_EXP: return exp(x);
    case U_LOG: return std::log(x);
    case U_SQRT: return std::sqrt(x);
    case U_RSQRT: return T(1) / std::sqrt(x);
    case U_ABS: return std::abs(x);
    case U_TANH: return std::tanh(x);
    case U_SIGMOID: return T(1) / (T(1) + exp(-x));
    case U_RELU: return x > T(0) ? x : T(0);
    case U_GELU_ERF: return T(0.5) * x * (T(1) + std::erf(x * T(0.70710678118654752440)));
    case U_GELU_TANH: {  // 0.5·x·(1 + tanh(u)) = x·sigmoid(2u)
      const T k = T(0.79788456080286535588);  // sqrt(2/pi)
      return x / (T(1) + nn::vexp(T(-2) * k * (x + T(0.044715) * x * x * x)));
    }
    case U_SILU: return x / (T(1) + nn::vexp(-x));
    case U_SOFTPLUS: {  // s0 = beta, s1 = threshold (PyTorch: linear above threshold)
      T bx = s0 * x;
      return bx > s1 ? x : std::log1p(exp(bx)) / s0;
    }
    case U_SIN: return std::sin(x);
    case U_COS: return std::cos(x);
    case U_SIGN: return T((x > T(0)) - (x < T(0)));
    case U_SQUARE: return x * x;
    case U_RECIPROCAL: return T(1) / x;
    case U_LOG1P: return std::log1p(x);
    case U_EXPM1: return std::expm1(x);
    case U_ERF: return std::erf(x);
    case U_FLOOR: return std::floor(x);
    case U_CEIL: return std::ceil(x);
    case U_ADD_SCALAR: return x + s0;
    case U_MUL_SCALAR: return x * s0;
    case U_POW_SCALAR: return s0 == T(2) ? x * x : std::pow(x, s0);
    case U_CLAMP: return x < s0 ? s0 : (x > s1 ? s1 : x);  // NaN passes through
    case U_RSUB_SCALAR: return s0 - x;
    case U_RPOW_SCALAR: return std::pow(s0, x);
    case U_LOGICAL_NOT: return T(x == T(0));
    case U_ROUND: return std::nearbyint(x);
    default: return x;
  }
}

template <typename T>
inline T binary_apply(int op, T a, T b) {
  switch (op) {
    case B_ADD: return a + b;
    case B_SUB: return a - b;
    case B_MUL: return a * b;
    case B_DIV: return a / b;
    case B_POW: return std::pow(a, b);
    case B_MAXIMUM: return (a != a || a > b) ? a : b;  // NaN propagates, as in torch.maximum
    case B_MINIMUM: return (a != a || a < b) ? a : b;
    case B_ATAN2: return std::atan2(a, b);
    // Fused backward rules: a = forward input (or output where noted), b = upstream gradient.
    case B_GELU_ERF_BWD: {
      const T cdf = T(0.5) * (T(1) + std::erf(a * T(0.70710678118654752440)));
      const T pdf = std::exp(T(-0.5) * a * a) * T(0.39894228040143267794);
      return b * (cdf + a * pdf);
    }
    case B_GELU_TANH_BWD: {  // with s = sigmoid(2u) = (1 + tanh(u)) / 2: s + 2·a·s·(1 - s)·du/da
      const T k = T(0.79788456080286535588);
      const T s = T(1) / (T(1) + nn::vexp(T(-2) * k * (a + T(0.044715) * a * a * a)));
      const T dinner = k * (T(1) + T(3) * T(0.044715) * a * a);
      return b * (s + T(2) * a * s * (T(1) - s) * dinner);
    }
    case B_SILU_BWD: {
      const T s = T(1) / (T(1) + nn::vexp(-a));
      return b * s * (T(1) + a * (T(1) - s));
    }
    case B_SIGMOID_BWD: return b * a * (T(1) - a);  // a = sigmoid output
    case B_TANH_BWD: return b * (T(1) - a * a);     // a = tanh output
    case B_RELU_BWD: return a > T(0) ? b : T(0);
    case B_SOFTPLUS_BWD: {  // beta = 1, threshold = 20
      return a > T(20) ? b : b / (T(1) + std::exp(-a));
    }
    default: return a;
  }
}

template <typename T>
inline uint8_t compare_apply(int op, T a, T b) {
  switch (op) {
    case B_EQ: return a == b;
    case B_NE: return a != b;
    case B_LT: return a < b;
    case B_LE: return a <= b;
    case B_GT: return a > b;
    case B_GE: return a >= b;
    case B_AND: return (a != T(0)) && (b != T(0));
    case B_OR: return (a != T(0)) || (b != T(0));
    default: return 0;
  }
}

}  // namespace peftjs
