import Foundation
import LinearAlgebra

/// Pins OpenBLAS's kernel family for this process (see `BLASKernel`), first thing in `main`.
///
/// OpenBLAS has already loaded by the time any Swift code runs and it reads `OPENBLAS_CORETYPE`
/// only while loading, so pinning means: set the variable and re-execute this same binary with
/// the same arguments. The re-executed process finds the variable right and goes on; so does a
/// process started with it already set (export `OPENBLAS_CORETYPE=Haswell` to skip the exec).
enum BLASPinning {
    static func apply() {
        let environment = ProcessInfo.processInfo.environment
        let choice = BLASKernel.choose(setting: environment[BLASKernel.settingVariable], on: .current)
        guard let family = choice.family else {
            warn(choice.warning)
            return
        }
        // Already loaded with it (this is the re-executed process, or the user set it): done.
        if environment[BLASKernel.openBLASVariable]?.lowercased() == family.lowercased() { return }
        warn(choice.warning)
        setenv(BLASKernel.openBLASVariable, family, 1)
        execv("/proc/self/exe", CommandLine.unsafeArgv)
        // Only reached if the exec failed: run on, unpinned, but say so.
        FileHandle.standardError.write(
            Data(
                "rewind: could not re-execute to pin BLAS kernels to \(family) (errno \(errno)); results may differ in the last bits from other machines\n"
                    .utf8))
    }

    private static func warn(_ message: String?) {
        if let message { FileHandle.standardError.write(Data("rewind: \(message)\n".utf8)) }
    }
}
