import Foundation
import RewindTestSupport
import Testing

/// The resource attacks of issue 10 against the real `rewind serve` under an address-space limit
/// (`prlimit --as`): the process must survive, and the other jobs must finish.
@Suite("Security: the real binary under a memory limit", .serialized)
struct MemoryLimitProcessTests {
    /// Generous for the runtime and its threads, far below what the attacks would take.
    static let addressSpace = "--as=\(2 << 30)"

    @Test func hostileSpecsAndALargeUploadLeaveTheProcessUpAndOtherJobsFinish() throws {
        let directory = try TemporaryDirectory(prefix: "rewind-security-memory")
        let server = try ServerProcess(
            database: directory.file("rewind.sqlite"), arguments: ["--job-memory-mb", "256", "--workers", "2"],
            // Address space, not memory, is what `--as` limits: keep malloc's per-thread arenas
            // and OpenBLAS's per-core buffers from reserving it by the gigabyte on many-core hosts.
            environment: ["MALLOC_ARENA_MAX": "2", "OPENBLAS_NUM_THREADS": "1"],
            prlimit: [Self.addressSpace])
        defer { server.kill(SIGTERM); _ = server.waitForExit(timeout: .seconds(20)) }
        let session = SecuritySession(port: server.port)

        // First, on a fresh process (no freed memory to reuse that would hide the growth), an 8 MB
        // upload: the parse allocates the stored form, not rows of boxed values. The peak (VmHWM)
        // is reset so that only the upload can raise it.
        try "5".write(toFile: "/proc/\(server.pid)/clear_refs", atomically: false, encoding: .utf8)
        let rssBefore = Self.status(server.pid, "VmRSS")
        let csv = Self.csv(bytes: 8 << 20)
        let upload = try session.request(
            "POST", "/v1/datasets?name=large", headers: [("Content-Type", "text/csv")], body: csv,
            timeout: .seconds(120))
        #expect(upload.status == 201, "upload answered \(upload.status): \(upload.text)")
        let peak = Self.status(server.pid, "VmHWM")
        let growth = Double(peak - rssBefore) / Double(csv.count)
        print(
            "upload of \(csv.count) bytes: peak RSS grew \(growth)× the body; VmPeak \(Self.status(server.pid, "VmPeak") >> 20) MiB"
        )
        // It was 18×, then 4.8× while the body was received whole before its parse. Now the
        // upload streams into stored chunks as it arrives and holds a few MiB whatever its size.
        #expect(growth < 6, "peak RSS grew by \(growth)× the body")

        let ordinary = try session.submit(SecuritySpecs.small(name: "ordinary"))
        for _ in 0..<3 {
            let refused = try session.postJSON("/v1/jobs", SecuritySpecs.memoryBomb)
            #expect(refused.status == 422 && refused.slug == "over-memory-budget")
        }
        // Just over the budget through T alone: the estimate, not a fixed size rule, decides.
        let longRun =
            #"{"dataset":{"name":"digits"},"model":{"hidden":[200]},"training":{"iterations":100000,"batch_size":10},"#
            + #""hyperparameters":{"momentum":{"init":0.3}},"meta":{"iterations":1}}"#
        #expect(try session.postJSON("/v1/jobs", longRun).status == 422)

        try session.waitForStatus(ordinary, "succeeded")
        #expect(try session.get("/healthz").status == 200)
        #expect(server.waitForExit(timeout: .milliseconds(1)) == nil, "the server exited:\n\(server.log)")
    }

    /// A CSV of about `bytes` bytes: 20 features with 4 decimals, a class label.
    static func csv(bytes: Int) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes + 256)
        var row = 0
        while out.count < bytes {
            for feature in 0..<20 {
                let value = Double((row * 31 + feature * 17) % 10_000) / 10_000
                out += Array(String(format: "%.4f,", value).utf8)
            }
            out += Array("\(row % 3)\n".utf8)
            row += 1
        }
        return out
    }

    /// A `/proc/PID/status` field in bytes (`VmRSS`, `VmHWM`).
    static func status(_ pid: Int32, _ field: String) -> Int {
        let text = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        for line in text.split(separator: "\n") where line.hasPrefix(field + ":") {
            let digits = line.split(separator: " ").compactMap { Int($0) }.first ?? 0
            return digits * 1024
        }
        return 0
    }
}
