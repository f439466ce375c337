using System.Runtime.InteropServices;

namespace RustMix.Matrix;

/// <summary>Dense matrices, computed by the Rust crate crates/matrix.</summary>
public static class RustMatrix
{
    private const string Library = "rustmix_matrix";

    /// <summary>The determinant of the n×n Hilbert matrix (1 ≤ n ≤ 12).</summary>
    public static double HilbertDeterminant(int n) => rustmix_matrix_hilbert_det(checked((uint)n));

    /// <summary>Runs every compiled (type, size) variant once and sums the results.</summary>
    public static double SelfTest(ulong seed) => rustmix_matrix_self_test(seed);

    [DllImport(Library, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
    private static extern double rustmix_matrix_hilbert_det(uint n);

    [DllImport(Library, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
    private static extern double rustmix_matrix_self_test(ulong seed);
}
