using System.Runtime.InteropServices;

namespace RustMix.Codec;

/// <summary>Lossless codecs (delta, run-length, bit packing), computed by the Rust crate crates/codec.</summary>
public static class RustCodec
{
    private const string Library = "rustmix_codec";

    /// <summary>The size in bytes of the smallest of the encodings of <paramref name="data"/>.</summary>
    public static ulong BestSize(byte[] data) => rustmix_codec_best_size(data, (nuint)data.Length);

    /// <summary>Runs every compiled (sample type, block length) variant once over <paramref name="data"/>.</summary>
    public static ulong SelfTest(byte[] data) => rustmix_codec_self_test(data, (nuint)data.Length);

    [DllImport(Library, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
    private static extern ulong rustmix_codec_best_size(byte[] data, nuint length);

    [DllImport(Library, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
    private static extern ulong rustmix_codec_self_test(byte[] data, nuint length);
}
