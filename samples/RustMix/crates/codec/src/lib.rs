//! Small lossless codecs (delta, zig-zag, run-length, bit packing) generic over the sample type and the block
//! length (a const generic). Each (type, block) pair below is compiled on its own.

use std::ops::{BitXor, Shl, Shr, Sub};

/// A sample type the codecs work on.
pub trait Sample: Copy + Eq + Default + Sub<Output = Self> + BitXor<Output = Self> + Shl<u32, Output = Self> + Shr<u32, Output = Self> {
    const BITS: u32;
    fn from_u8(b: u8) -> Self;
    fn wrapping_sub(self, other: Self) -> Self;
    fn wrapping_add(self, other: Self) -> Self;
    fn to_u64(self) -> u64;
    fn leading_zeros(self) -> u32;
}

macro_rules! impl_sample {
    ($($t:ty => $u:ty),*) => {$(
        impl Sample for $t {
            const BITS: u32 = <$t>::BITS;
            fn from_u8(b: u8) -> Self { b as $t }
            fn wrapping_sub(self, other: Self) -> Self { <$t>::wrapping_sub(self, other) }
            fn wrapping_add(self, other: Self) -> Self { <$t>::wrapping_add(self, other) }
            fn to_u64(self) -> u64 { self as $u as u64 }
            fn leading_zeros(self) -> u32 { <$t>::leading_zeros(self) }
        }
    )*};
}
impl_sample!(u8 => u8, u16 => u16, u32 => u32, u64 => u64, i16 => u16, i32 => u32, i64 => u64);

/// Replaces each sample but the first by its difference to the previous one.
#[inline(never)]
pub fn delta_encode<T: Sample>(samples: &mut [T]) {
    for i in (1..samples.len()).rev() {
        samples[i] = samples[i].wrapping_sub(samples[i - 1]);
    }
}

/// Undoes [`delta_encode`].
#[inline(never)]
pub fn delta_decode<T: Sample>(samples: &mut [T]) {
    for i in 1..samples.len() {
        samples[i] = samples[i].wrapping_add(samples[i - 1]);
    }
}

/// Run-length encoding into (value, count) pairs.
#[inline(never)]
pub fn run_lengths<T: Sample>(samples: &[T]) -> Vec<(T, u32)> {
    let mut runs: Vec<(T, u32)> = Vec::new();
    for &s in samples {
        match runs.last_mut() {
            Some((v, n)) if *v == s && *n < u32::MAX => *n += 1,
            _ => runs.push((s, 1)),
        }
    }
    runs
}

/// Bits needed to store every sample of each block of `B`, summed: the size of a bit-packed encoding.
#[inline(never)]
pub fn packed_bits<T: Sample, const B: usize>(samples: &[T]) -> u64 {
    samples
        .chunks(B)
        .map(|block| {
            let widest = block.iter().map(|s| T::BITS - s.leading_zeros()).max().unwrap_or(0);
            8 + widest as u64 * block.len() as u64
        })
        .sum()
}

/// The smallest of the encodings, in bytes, for samples of type `T` in blocks of `B`.
#[inline(never)]
pub fn best_size<T: Sample, const B: usize>(samples: &[T]) -> u64 {
    let width = (T::BITS / 8) as u64;
    let raw = samples.len() as u64 * width;
    let rle = run_lengths(samples).len() as u64 * (width + 4);
    let mut deltas = samples.to_vec();
    delta_encode(&mut deltas);
    let packed = (packed_bits::<T, B>(&deltas) + 7) / 8;
    raw.min(rle).min(packed)
}

#[inline(never)]
fn exercise<T: Sample, const B: usize>(bytes: &[u8]) -> u64 {
    let samples: Vec<T> = bytes.iter().map(|&b| T::from_u8(b)).collect();
    let mut roundtrip = samples.clone();
    delta_encode(&mut roundtrip);
    delta_decode(&mut roundtrip);
    assert!(roundtrip == samples, "delta coding must round-trip");
    best_size::<T, B>(&samples) ^ roundtrip.iter().fold(0u64, |a, s| a.rotate_left(1) ^ s.to_u64())
}

macro_rules! exercise_all {
    ($data:expr; [$($t:ty),*]; $sizes:tt) => {{
        let mut acc = 0u64;
        $( acc = acc.rotate_left(7) ^ exercise_all!(@sizes $data; $t; $sizes); )*
        acc
    }};
    (@sizes $data:expr; $t:ty; [$($n:literal),*]) => {{
        let mut acc = 0u64;
        $( acc = acc.wrapping_add(exercise::<$t, $n>($data)); )*
        acc
    }};
}

/// The size in bytes of the best of the codecs for `len` bytes at `data`.
///
/// # Safety
/// `data` must point to `len` readable bytes (or be null with `len` 0).
#[no_mangle]
pub unsafe extern "C" fn rustmix_codec_best_size(data: *const u8, len: usize) -> u64 {
    let bytes = if len == 0 { &[][..] } else { std::slice::from_raw_parts(data, len) };
    best_size::<u8, 16>(bytes)
}

/// Runs every monomorphization once over `len` bytes at `data` and folds the results.
///
/// # Safety
/// `data` must point to `len` readable bytes (or be null with `len` 0).
#[no_mangle]
pub unsafe extern "C" fn rustmix_codec_self_test(data: *const u8, len: usize) -> u64 {
    let bytes = if len == 0 { &[][..] } else { std::slice::from_raw_parts(data, len) };
    exercise_all!(bytes; [u8, u16, u32, u64, i16, i32, i64]; [1, 2, 3, 4, 5, 6, 7, 8, 12, 16, 24, 32, 64, 128])
}
