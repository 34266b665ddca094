import LinearAlgebra
import Testing

@Suite("BLAS kernel choice")
struct BLASKernelTests {
    let avx2 = BLASKernel.CPU(architecture: .x86_64, sse3: true, avx: true, avx2: true, fma: true)
    let avxOnly = BLASKernel.CPU(architecture: .x86_64, sse3: true, avx: true)
    let sse2Only = BLASKernel.CPU(architecture: .x86_64)
    let arm = BLASKernel.CPU(architecture: .arm64)

    @Test("each CPU class gets one fixed family by default")
    func defaults() {
        #expect(BLASKernel.choose(setting: nil, on: avx2) == .init(family: "Haswell"))
        #expect(BLASKernel.choose(setting: "", on: avx2) == .init(family: "Haswell"))
        #expect(BLASKernel.choose(setting: nil, on: avxOnly) == .init(family: "Sandybridge"))
        #expect(BLASKernel.choose(setting: nil, on: sse2Only) == .init(family: nil))
        #expect(BLASKernel.choose(setting: nil, on: arm) == .init(family: "ARMV8"))
    }

    @Test("a setting is honoured only if the CPU can run it, so it never causes an illegal instruction")
    func settings() {
        #expect(BLASKernel.choose(setting: "SandyBridge", on: avx2) == .init(family: "SandyBridge"))
        #expect(BLASKernel.choose(setting: " native ", on: avx2) == .init(family: nil))
        let refused = BLASKernel.choose(setting: "Haswell", on: avxOnly)
        #expect(refused.family == "Sandybridge" && refused.warning?.contains("REWIND_BLAS_CORETYPE=Haswell") == true)
        #expect(BLASKernel.choose(setting: "SkylakeX", on: avx2).family == "Haswell")
        #expect(BLASKernel.choose(setting: "Haswell", on: arm).family == "ARMV8")
    }

    @Test("the loaded family and the build line are reported")
    func reporting() {
        #expect(!BLASKernel.loadedFamily.isEmpty)
        #expect(BLASKernel.configuration.hasPrefix("OpenBLAS"))
    }
}
