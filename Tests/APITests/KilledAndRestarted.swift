import Foundation
import RewindTestSupport
import Testing

/// A job submitted to a real `rewind serve`, the server killed with SIGKILL once the job has
/// committed an item, and a second server started on the same file: what a recovery test then
/// checks against an uninterrupted run.
struct KilledAndRestarted {
    let directory: TemporaryDirectory
    let id: String
    /// The restarted server and a session with it.
    let server: ServerProcess
    let session: APISession

    init(_ spec: String, prefix: String) throws {
        directory = try TemporaryDirectory(prefix: prefix)
        let database = directory.file("rewind.sqlite")
        let first = try ServerProcess(database: database)
        id = try APISession(port: first.port).submit(spec)
        let running = try APISession(port: first.port).waitForJob(id, timeout: .seconds(120), "one committed item") {
            ($0["progress"]?["done"]?.intValue ?? 0) >= 1
        }
        first.kill(SIGKILL)
        #expect(first.waitForExit(timeout: .seconds(10)) == .signalled(SIGKILL))
        #expect(running["status"]?.stringValue == "running")
        server = try ServerProcess(database: database)
        session = APISession(port: server.port)
    }
}
