using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using RustMix.Codec;
using RustMix.Hash;
using RustMix.Matrix;

namespace RustMix;

/// <summary>Calls each of the four Rust crates and prints what they computed.</summary>
internal static class Program
{
    private static int Main()
    {
        var culture = CultureInfo.InvariantCulture;
        var fox = Encoding.UTF8.GetBytes("The quick brown fox jumps over the lazy dog");
        var wave = Enumerable.Range(0, 1 << 16).Select(i => (byte)(128 + 100 * Math.Sin(i / 500.0))).ToArray();

        Console.WriteLine("RustMix: .NET calling four Rust crates, each built by cargo from a plain <Exec>.");
        Console.WriteLine(string.Format(culture, "  core   (App)    sum of the primes below 2,000,000 = {0:N0}", Core.PrimeSum(2_000_000)));
        Console.WriteLine(string.Format(culture, "  matrix (Matrix) determinant of the 8x8 Hilbert matrix = {0:E4}", RustMatrix.HilbertDeterminant(8)));
        Console.WriteLine(string.Format(culture, "  hash   (Hash)   CRC-32 of \"{0}\" = 0x{1:X8}", Encoding.UTF8.GetString(fox), RustHash.Crc32(fox)));
        Console.WriteLine(string.Format(culture, "  codec  (Codec)  a 64 KiB sine wave encodes to {0:N0} bytes", RustCodec.BestSize(wave)));
        Console.WriteLine(string.Format(culture, "  self-tests of every generic instance: core {0:X16}, matrix {1:F1}, hash {2:X16}, codec {3:X16}",
            Core.SelfTest(42), RustMatrix.SelfTest(42), RustHash.SelfTest(fox), RustCodec.SelfTest(wave)));
        return 0;
    }

    /// <summary>The app's own crate, crates/core.</summary>
    private static class Core
    {
        private const string Library = "rustmix_core";

        public static ulong PrimeSum(ulong limit) => rustmix_core_prime_sum(limit);

        public static ulong SelfTest(ulong seed) => rustmix_core_self_test(seed);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        private static extern ulong rustmix_core_prime_sum(ulong limit);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        private static extern ulong rustmix_core_self_test(ulong seed);
    }
}
