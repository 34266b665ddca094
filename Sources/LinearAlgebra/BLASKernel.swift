import COpenBLAS

/// Which OpenBLAS kernel family runs the matrix products, chosen by Rewind rather than by the CPU.
///
/// A DYNAMIC_ARCH OpenBLAS picks its kernels (Haswell, Zen, SkylakeX, …) from the CPU when it
/// loads, and the families sum in different orders, so two machines of the same architecture give
/// different last bits — which chaotic training turns into different histories. Rewind therefore
/// pins one family per CPU class: the `rewind` executable sets `OPENBLAS_CORETYPE` and re-executes
/// itself before any work (OpenBLAS reads the variable only at load time), overriding whatever the
/// environment held.
///
/// - x86-64 with AVX2 and FMA (Intel since 2013, AMD since 2015): `Haswell`. Every such machine
///   gives the same bits.
/// - x86-64 with AVX but no AVX2: `Sandybridge`; with neither: `Prescott` (SSE3); without SSE3
///   OpenBLAS's own choice. These give other bits than the AVX2 class (documented, not an error).
/// - arm64: `ARMV8`, the generic NEON kernels every arm64 CPU runs. arm64 bits differ from x86-64.
///
/// `REWIND_BLAS_CORETYPE` changes the choice: a family name, or `native` for OpenBLAS's own
/// choice. A family this CPU cannot execute is refused (with a warning) in favour of the default,
/// so a setting can never make the process die of an illegal instruction.
public enum BLASKernel {
    /// The variable OpenBLAS reads when it loads.
    public static let openBLASVariable = "OPENBLAS_CORETYPE"
    /// Rewind's setting: a family name or `native`.
    public static let settingVariable = "REWIND_BLAS_CORETYPE"

    /// What the CPU can execute, as far as the kernel choice is concerned.
    public struct CPU: Sendable, Equatable {
        public enum Architecture: String, Sendable { case x86_64, arm64, other }
        public var architecture: Architecture
        public var sse3 = false, avx = false, avx2 = false, fma = false

        public init(
            architecture: Architecture, sse3: Bool = false, avx: Bool = false, avx2: Bool = false, fma: Bool = false
        ) {
            self.architecture = architecture
            self.sse3 = sse3
            self.avx = avx
            self.avx2 = avx2
            self.fma = fma
        }

        /// This machine.
        public static var current: CPU {
            #if arch(x86_64)
            let bits = rewind_x86_features()
            return CPU(
                architecture: .x86_64, sse3: bits & 1 != 0, avx: bits & 2 != 0, avx2: bits & 4 != 0,
                fma: bits & 8 != 0)
            #elseif arch(arm64)
            return CPU(architecture: .arm64)
            #else
            return CPU(architecture: .other)
            #endif
        }
    }

    /// The outcome of a setting on a CPU: the family to pin (nil: leave OpenBLAS's own choice)
    /// and a warning for the user when the setting could not be honoured.
    public struct Choice: Sendable, Equatable {
        public var family: String?
        public var warning: String?

        public init(family: String?, warning: String? = nil) {
            self.family = family
            self.warning = warning
        }
    }

    /// The family Rewind pins on `cpu` unless told otherwise.
    public static func defaultFamily(on cpu: CPU) -> String? {
        switch cpu.architecture {
        case .x86_64:
            if cpu.avx2 && cpu.fma { return "Haswell" }
            if cpu.avx { return "Sandybridge" }
            return cpu.sse3 ? "Prescott" : nil
        case .arm64:
            return "ARMV8"
        case .other:
            return nil
        }
    }

    /// Whether `cpu` can execute the kernels of `family` (case-insensitive, as OpenBLAS matches).
    /// Families outside the list below are unknown and refused.
    public static func canRun(_ family: String, on cpu: CPU) -> Bool {
        switch (cpu.architecture, family.lowercased()) {
        case (.x86_64, "haswell"), (.x86_64, "zen"): return cpu.avx2 && cpu.fma
        case (.x86_64, "sandybridge"): return cpu.avx
        case (.x86_64, "prescott"), (.x86_64, "core2"), (.x86_64, "nehalem"): return cpu.sse3
        case (.arm64, "armv8"): return true
        default: return false
        }
    }

    /// Resolves the user's setting (`REWIND_BLAS_CORETYPE`, nil when unset) on `cpu`.
    public static func choose(setting: String?, on cpu: CPU) -> Choice {
        let fallback = defaultFamily(on: cpu)
        guard let setting = setting?.trimmingWhitespace, !setting.isEmpty else { return Choice(family: fallback) }
        if setting.lowercased() == "native" { return Choice(family: nil) }
        if canRun(setting, on: cpu) { return Choice(family: setting) }
        return Choice(
            family: fallback,
            warning:
                "\(settingVariable)=\(setting) is not a kernel family this CPU can run; using \(fallback ?? "OpenBLAS's own choice")"
        )
    }

    /// The family OpenBLAS actually loaded, e.g. "Haswell" (`openblas_get_corename`).
    public static var loadedFamily: String { String(cString: openblas_get_corename()) }

    /// OpenBLAS's build line, e.g. "OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY Haswell MAX_THREADS=64".
    public static var configuration: String {
        String(cString: openblas_get_config()).trimmingWhitespace
    }
}

extension String {
    fileprivate var trimmingWhitespace: String {
        var view = Substring(self)
        while view.first?.isWhitespace == true { view = view.dropFirst() }
        while view.last?.isWhitespace == true { view = view.dropLast() }
        return String(view)
    }
}
