import LinearAlgebra

/// Everything besides the spec that decides the bits of a result: the project's arithmetic, the
/// CPU architecture and the BLAS build and kernel family. Two runs of one spec give identical
/// histories when their fingerprints are equal; record it beside each result so a difference can
/// be explained rather than guessed at.
public enum NumericFingerprint {
    /// Raised whenever a change alters any result's bits for the same inputs: `PortableMath`, the
    /// order of a reduction, the trainer's arithmetic. 2: the hyperparameter mapping (e^u, σ(u),
    /// the initial log and logit) moved from libm to `PortableMath`.
    public static let arithmeticVersion = 2

    /// One line, e.g. "rewind-arithmetic 2; x86_64; OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY
    /// Haswell MAX_THREADS=64; kernels Haswell".
    public static var current: String {
        "rewind-arithmetic \(arithmeticVersion); \(architecture); \(BLASKernel.configuration); kernels \(BLASKernel.loadedFamily)"
    }

    static var architecture: String {
        #if arch(x86_64)
        "x86_64"
        #elseif arch(arm64)
        "arm64"
        #else
        "other"
        #endif
    }
}
