//! SIMD kernels (placeholder; being written).
