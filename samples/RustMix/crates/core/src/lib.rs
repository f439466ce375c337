//! Number theory over every integer type, written generically on purpose: each (type, size) pair below is a
//! separate monomorphization, which gives the compiler a few seconds of real work.

use std::ops::{Add, Mul, Rem, Sub};

/// The integer operations the algorithms need.
pub trait Int: Copy + PartialOrd + Add<Output = Self> + Sub<Output = Self> + Mul<Output = Self> + Rem<Output = Self> {
    const ZERO: Self;
    const ONE: Self;
    fn from_u64(v: u64) -> Self;
    fn to_u64(self) -> u64;
}

macro_rules! impl_int {
    ($($t:ty),*) => {$(
        impl Int for $t {
            const ZERO: Self = 0;
            const ONE: Self = 1;
            fn from_u64(v: u64) -> Self { v as $t }
            fn to_u64(self) -> u64 { self as u64 }
        }
    )*};
}
impl_int!(u16, u32, u64, u128, usize, i32, i64, i128);

/// Greatest common divisor, Euclid.
pub fn gcd<T: Int>(mut a: T, mut b: T) -> T {
    while b != T::ZERO {
        let r = a % b;
        a = b;
        b = r;
    }
    a
}

/// (base ^ exp) mod m by squaring.
pub fn pow_mod<T: Int>(base: T, mut exp: u64, m: T) -> T {
    let mut result = T::ONE % m;
    let mut b = base % m;
    while exp > 0 {
        if exp & 1 == 1 {
            result = (result * b) % m;
        }
        b = (b * b) % m;
        exp >>= 1;
    }
    result
}

/// Deterministic trial division, generic over the type.
pub fn is_prime<T: Int>(n: T) -> bool {
    let two = T::from_u64(2);
    if n < two {
        return false;
    }
    let mut d = two;
    while d * d <= n {
        if n % d == T::ZERO {
            return false;
        }
        d = d + T::ONE;
    }
    true
}

/// A sieve of N bytes at a time over [0, limit): the sum of the primes found.
#[inline(never)]
pub fn sieve_sum<T: Int, const N: usize>(limit: u64) -> u64 {
    let mut composite = vec![false; limit as usize];
    let mut sum = 0u64;
    let mut block = [T::ZERO; N];
    let mut filled = 0usize;
    for i in 2..limit as usize {
        if composite[i] {
            continue;
        }
        block[filled] = T::from_u64(i as u64);
        filled += 1;
        if filled == N {
            sum += block.iter().fold(0u64, |acc, p| acc.wrapping_add(p.to_u64()));
            filled = 0;
        }
        let mut j = i * i;
        while j < limit as usize {
            composite[j] = true;
            j += i;
        }
    }
    sum + block[..filled].iter().fold(0u64, |acc, p| acc.wrapping_add(p.to_u64()))
}

/// A fixed-size vector of residues, so that every const size is its own code.
#[derive(Clone, Copy)]
pub struct Residues<T: Int, const N: usize>([T; N]);

impl<T: Int, const N: usize> Residues<T, N> {
    pub fn new(seed: u64, m: T) -> Self {
        let mut v = [T::ZERO; N];
        for (i, x) in v.iter_mut().enumerate() {
            *x = T::from_u64(seed.wrapping_mul(6364136223846793005).wrapping_add(i as u64 * 1442695040888963407) >> 48) % m;
        }
        Residues(v)
    }

    pub fn mul(&self, other: &Self, m: T) -> Self {
        let mut v = self.0;
        for (x, y) in v.iter_mut().zip(other.0.iter()) {
            *x = (*x * *y) % m;
        }
        Residues(v)
    }

    pub fn checksum(&self, m: T) -> u64 {
        self.0.iter().fold(0u64, |acc, x| acc.rotate_left(5) ^ pow_mod(*x, 65537, m).to_u64() ^ gcd(*x, m).to_u64())
    }
}

#[inline(never)]
fn exercise<T: Int, const N: usize>(seed: u64) -> u64 {
    let m = T::from_u64(251);
    let mut r = Residues::<T, N>::new(seed, m);
    let s = Residues::<T, N>::new(seed ^ 0x9e37_79b9, m);
    for _ in 0..4 {
        r = r.mul(&s, m);
    }
    r.checksum(m) ^ (is_prime(T::from_u64(seed % 1000 + 2)) as u64)
}

macro_rules! exercise_all {
    ($seed:expr; [$($t:ty),*]; $sizes:tt) => {{
        let mut acc = 0u64;
        $( acc = acc.rotate_left(1) ^ exercise_all!(@sizes $seed; $t; $sizes); )*
        acc
    }};
    (@sizes $seed:expr; $t:ty; [$($n:literal),*]) => {{
        let mut acc = 0u64;
        $( acc = acc.wrapping_add(exercise::<$t, $n>($seed)).wrapping_add(sieve_sum::<$t, $n>(64)); )*
        acc
    }};
}

/// The sum of the primes below `limit` (computed with a sieve).
#[no_mangle]
pub extern "C" fn rustmix_core_prime_sum(limit: u64) -> u64 {
    sieve_sum::<u64, 64>(limit)
}

/// Runs every monomorphization once; a stable checksum the app prints.
#[no_mangle]
pub extern "C" fn rustmix_core_self_test(seed: u64) -> u64 {
    exercise_all!(seed;
        [u16, u32, u64, u128, usize, i32, i64, i128];
        [1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 14, 16])
}
