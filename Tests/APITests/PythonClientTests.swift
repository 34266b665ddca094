import Foundation
import RewindTestSupport
import Testing

/// `clients/python` against the real service: its unittest suite, run by python3 with the package
/// on PYTHONPATH, talking to a service on a free loopback port.
@Suite("The Python client")
struct PythonClientTests {
    @Test func thePythonClientsTestsPassAgainstARealService() throws {
        let service = try TestService()
        defer { service.stop() }
        let client = "\(LearnedScheduleTests.repository)/clients/python"
        let run = try CommandLineRun.run(
            "python3", ["-m", "unittest", "discover", "-s", "tests", "-v"],
            environment: [
                "PYTHONPATH": client, "REWIND_URL": "127.0.0.1:\(service.port)", "PYTHONDONTWRITEBYTECODE": "1",
            ],
            directory: client, timeout: .seconds(300))
        #expect(run.status == 0, "python3 -m unittest failed:\n\(run.stderr)\n\(run.stdout)")
        #expect(run.stderr.contains("OK") && !run.stderr.contains("Ran 0 tests"), "\(run.stderr)")
    }
}
