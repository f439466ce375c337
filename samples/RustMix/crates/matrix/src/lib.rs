//! Dense square matrices generic over the scalar type and the size (a const generic), so every (type, size)
//! pair used below is compiled separately: a few seconds of honest optimizer work.

use std::ops::{Add, Div, Mul, Neg, Sub};

/// What a matrix entry must support.
pub trait Scalar:
    Copy + PartialOrd + Add<Output = Self> + Sub<Output = Self> + Mul<Output = Self> + Div<Output = Self> + Neg<Output = Self>
{
    const ZERO: Self;
    const ONE: Self;
    fn from_f64(v: f64) -> Self;
    fn to_f64(self) -> f64;
    fn abs(self) -> Self {
        if self < Self::ZERO { -self } else { self }
    }
}

macro_rules! impl_scalar {
    ($($t:ty),*) => {$(
        impl Scalar for $t {
            const ZERO: Self = 0 as $t;
            const ONE: Self = 1 as $t;
            fn from_f64(v: f64) -> Self { v as $t }
            fn to_f64(self) -> f64 { self as f64 }
        }
    )*};
}
impl_scalar!(f32, f64, i32, i64, i128);

/// An N×N matrix stored row by row.
#[derive(Clone, Copy)]
pub struct Matrix<T: Scalar, const N: usize>(pub [[T; N]; N]);

impl<T: Scalar, const N: usize> Matrix<T, N> {
    pub fn from_fn(f: impl Fn(usize, usize) -> T) -> Self {
        let mut m = [[T::ZERO; N]; N];
        for (i, row) in m.iter_mut().enumerate() {
            for (j, x) in row.iter_mut().enumerate() {
                *x = f(i, j);
            }
        }
        Matrix(m)
    }

    pub fn identity() -> Self {
        Self::from_fn(|i, j| if i == j { T::ONE } else { T::ZERO })
    }

    #[inline(never)]
    pub fn mul(&self, other: &Self) -> Self {
        Self::from_fn(|i, j| (0..N).fold(T::ZERO, |acc, k| acc + self.0[i][k] * other.0[k][j]))
    }

    pub fn transpose(&self) -> Self {
        Self::from_fn(|i, j| self.0[j][i])
    }

    pub fn trace(&self) -> T {
        (0..N).fold(T::ZERO, |acc, i| acc + self.0[i][i])
    }

    /// Determinant by Gaussian elimination with partial pivoting (done in the scalar type itself).
    #[inline(never)]
    pub fn determinant(&self) -> f64 {
        let mut a = self.0;
        let mut det = T::ONE;
        for col in 0..N {
            let pivot = (col..N).fold(col, |best, r| if a[r][col].abs() > a[best][col].abs() { r } else { best });
            if a[pivot][col] == T::ZERO {
                return 0.0;
            }
            if pivot != col {
                a.swap(pivot, col);
                det = -det;
            }
            det = det * a[col][col];
            for r in col + 1..N {
                let factor = a[r][col] / a[col][col];
                for c in col..N {
                    a[r][c] = a[r][c] - factor * a[col][c];
                }
            }
        }
        det.to_f64()
    }
}

/// The N×N Hilbert matrix 1/(i+j+1), famously ill-conditioned.
pub fn hilbert<const N: usize>() -> Matrix<f64, N> {
    Matrix::from_fn(|i, j| 1.0 / (i + j + 1) as f64)
}

#[inline(never)]
fn exercise<T: Scalar, const N: usize>(seed: u64) -> f64 {
    let a = Matrix::<T, N>::from_fn(|i, j| T::from_f64(((seed as usize + i * 7 + j * 3) % 5) as f64 - 2.0));
    let b = a.mul(&a.transpose()).mul(&Matrix::identity());
    b.trace().to_f64() + a.determinant().abs()
}

macro_rules! exercise_all {
    ($seed:expr; [$($t:ty),*]; $sizes:tt) => {{
        let mut acc = 0.0f64;
        $( acc += exercise_all!(@sizes $seed; $t; $sizes); )*
        acc
    }};
    (@sizes $seed:expr; $t:ty; [$($n:literal),*]) => {{
        let mut acc = 0.0f64;
        $( acc += exercise::<$t, $n>($seed); )*
        acc
    }};
}

/// The determinant of the n×n Hilbert matrix, for n from 1 to 12 (NaN otherwise).
#[no_mangle]
pub extern "C" fn rustmix_matrix_hilbert_det(n: u32) -> f64 {
    match n {
        1 => hilbert::<1>().determinant(),
        2 => hilbert::<2>().determinant(),
        3 => hilbert::<3>().determinant(),
        4 => hilbert::<4>().determinant(),
        5 => hilbert::<5>().determinant(),
        6 => hilbert::<6>().determinant(),
        7 => hilbert::<7>().determinant(),
        8 => hilbert::<8>().determinant(),
        9 => hilbert::<9>().determinant(),
        10 => hilbert::<10>().determinant(),
        11 => hilbert::<11>().determinant(),
        12 => hilbert::<12>().determinant(),
        _ => f64::NAN,
    }
}

/// Runs every monomorphization once and sums the results.
#[no_mangle]
pub extern "C" fn rustmix_matrix_self_test(seed: u64) -> f64 {
    exercise_all!(seed; [f32, f64, i32, i64, i128]; [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 16])
}
