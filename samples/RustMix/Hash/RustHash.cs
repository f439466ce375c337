using System.Runtime.InteropServices;

namespace RustMix.Hash;

/// <summary>Checksums, computed by the Rust crate crates/hash.</summary>
public static class RustHash
{
    private const string Library = "rustmix_hash";

    /// <summary>CRC-32 (IEEE, as zip and PNG use it).</summary>
    public static uint Crc32(byte[] data) => rustmix_hash_crc32(data, (nuint)data.Length);

    /// <summary>Runs every compiled (width, unroll) variant once over <paramref name="data"/>.</summary>
    public static ulong SelfTest(byte[] data) => rustmix_hash_self_test(data, (nuint)data.Length);

    [DllImport(Library, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
    private static extern uint rustmix_hash_crc32(byte[] data, nuint length);

    [DllImport(Library, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
    private static extern ulong rustmix_hash_self_test(byte[] data, nuint length);
}
