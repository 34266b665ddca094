import Foundation
import Synchronization

/// A throw-away PostgreSQL cluster for tests: `initdb` into a temporary directory, the server on a
/// free loopback port with its socket in that directory, stopped (and the directory deleted) when
/// the cluster goes away. Nothing assumes a server already running.
///
/// The server binaries come from `pg_config --bindir` (Debian keeps them off the PATH). The server
/// refuses to run as root, so as root (CI) every server command runs as the `postgres` user
/// through `runuser`, in a directory made writable for it.
public final class PostgresCluster: Sendable {
    /// Where `initdb`, `pg_ctl` and `createdb` live, or nil when the server is not installed.
    public static let binDirectory: String? = {
        guard let output = try? run("/bin/sh", ["-c", "pg_config --bindir 2>/dev/null"]).output else { return nil }
        let directory = output.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !directory.isEmpty, FileManager.default.isExecutableFile(atPath: directory + "/pg_ctl"),
            FileManager.default.isExecutableFile(atPath: directory + "/initdb")
        else { return nil }
        return directory
    }()

    /// True when tests can start a cluster; otherwise `unavailableReason` says why not.
    public static var isAvailable: Bool { binDirectory != nil }

    public static let unavailableReason =
        "PostgreSQL server binaries not found (pg_config --bindir has no initdb/pg_ctl); "
        + "install Debian's postgresql and libpq-dev to run the PostgreSQL tests"

    /// One cluster for the whole test process, started on first use and stopped at exit.
    public static let shared: PostgresCluster? = {
        guard isAvailable else { return nil }
        let cluster = try? PostgresCluster()
        if cluster != nil { atexit { PostgresCluster.shared?.stop() } }
        return cluster
    }()

    public let directory: TemporaryDirectory
    public let port: Int
    /// The role every database belongs to (trust authentication on loopback).
    public let user = "rewind"
    private let binDirectory: String
    private let databaseCounter = Atomic<Int>(0)
    /// An address besides loopback to listen on (one a test made inside its own network namespace).
    private let extraListenAddress: String?

    /// Creates and starts a cluster with one database, `rewind`. With a `password`, TCP logins
    /// need it (SCRAM), as on a real server; the Unix socket in `directory` stays trusted.
    ///
    /// - Parameter extraListen: an address to listen on besides loopback and the network (CIDR)
    ///   whose clients may connect there; only addresses a test made in its own network namespace.
    public init(password: String? = nil, extraListen: (address: String, clients: String)? = nil) throws {
        extraListenAddress = extraListen?.address
        guard let binDirectory = Self.binDirectory else { throw ClusterError.failed(Self.unavailableReason) }
        self.binDirectory = binDirectory
        directory = try TemporaryDirectory(prefix: "rewind-pg")
        // The postgres user must be able to write here when we are root.
        try FileManager.default.setAttributes([.posixPermissions: 0o777], ofItemAtPath: directory.path)
        port = try Self.freePort()
        var authentication = ["--auth=trust"]
        if let password {
            let file = directory.file("initdb-password")
            try Data(password.utf8).write(to: URL(fileURLWithPath: file))
            try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: file)
            authentication = ["--auth-local=trust", "--auth-host=scram-sha-256", "--pwfile=\(file)"]
        }
        try server("initdb", ["-D", directory.file("data"), "-U", user, "--no-sync", "-E", "UTF8"] + authentication)
        if let clients = extraListen?.clients {
            let rules = try FileHandle(forWritingTo: URL(fileURLWithPath: directory.file("data/pg_hba.conf")))
            defer { try? rules.close() }
            try rules.seekToEnd()
            try rules.write(
                contentsOf: Data("host all all \(clients) \(password == nil ? "trust" : "scram-sha-256")\n".utf8))
        }
        try start()
        try server("createdb", ["-h", directory.path, "-p", "\(port)", "-U", user, "rewind"])
    }

    deinit { stop() }

    /// A URL for `database` on this cluster.
    public func url(database: String = "rewind") -> String {
        "postgresql://\(user)@127.0.0.1:\(port)/\(database)"
    }

    /// Starts the server (again); waits until it accepts connections.
    public func start() throws {
        // Test settings: a crash of a throw-away cluster loses nothing worth an fsync.
        let options =
            "-p \(port) -k \(directory.path) -c listen_addresses=127.0.0.1\(extraListenAddress.map { "," + $0 } ?? "") -c max_connections=300 "
            + "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        try server(
            "pg_ctl", ["-D", directory.file("data"), "-o", options, "-l", directory.file("pg.log"), "-w", "start"])
    }

    /// Stops the server: by default at once (`immediate`: like a crash, clients see their
    /// connections drop); `fast` ends the sessions and shuts down cleanly. The test settings
    /// (`synchronous_commit=off`) let a crash lose the last acknowledged commits: stop `fast` when
    /// a test counts what was written just before.
    public func stop(mode: String = "immediate") {
        _ = try? server("pg_ctl", ["-D", directory.file("data"), "-m", mode, "-w", "stop"])
    }

    /// Restarts the server (`fast`: sessions are terminated): the cheapest "database failover".
    public func restart() throws {
        try server("pg_ctl", ["-D", directory.file("data"), "-m", "fast", "-w", "stop"])
        try start()
    }

    /// A fresh, empty database; its name.
    public func createDatabase() throws -> String {
        let name = "t\(getpid())_\(databaseCounter.add(1, ordering: .relaxed).newValue)"
        try server("createdb", ["-h", "127.0.0.1", "-p", "\(port)", "-U", user, name])
        return name
    }

    /// Drops a database, disconnecting whoever still uses it.
    public func dropDatabase(_ name: String) {
        _ = try? server("dropdb", ["-h", "127.0.0.1", "-p", "\(port)", "-U", user, "--force", name])
    }

    /// Runs one SQL statement on `database` with `psql` (stopping at the first error), for tests
    /// that change the database under a running server.
    public func execute(_ sql: String, database: String = "rewind") throws {
        try server(
            "psql",
            ["-h", "127.0.0.1", "-p", "\(port)", "-U", user, "-d", database, "-v", "ON_ERROR_STOP=1", "-c", sql])
    }

    /// Runs a server binary, as `postgres` when we are root.
    @discardableResult
    private func server(_ tool: String, _ arguments: [String]) throws -> String {
        let executable = "\(binDirectory)/\(tool)"
        let (status, output) =
            getuid() == 0
            ? try Self.run("/usr/sbin/runuser", ["-u", "postgres", "--", executable] + arguments)
            : try Self.run(executable, arguments)
        guard status == 0 else { throw ClusterError.failed("\(tool) failed (\(status)): \(output)") }
        return output
    }

    /// Runs a program to its end, its output collected through a temporary file: the server
    /// that `pg_ctl start` leaves behind must not inherit a pipe the test would wait on.
    private static func run(_ executable: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let outputPath = NSTemporaryDirectory() + "rewind-pg-output-\(UUID().uuidString)"
        defer { unlink(outputPath) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, executable, &actions, nil, argv, environ)
        guard spawned == 0 else { throw ClusterError.failed("cannot run \(executable): errno \(spawned)") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let output = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        // WIFEXITED/WEXITSTATUS by hand: the macros are not imported.
        let exitCode = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return (exitCode, output)
    }

    /// A loopback port nobody listens on right now.
    private static func freePort() throws -> Int {
        let socket = Foundation.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { throw ClusterError.failed("socket() failed") }
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { generic in
                bind(socket, generic, length) == 0 && getsockname(socket, generic, &length) == 0
            }
        }
        guard bound else { throw ClusterError.failed("cannot find a free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    public enum ClusterError: Error, CustomStringConvertible {
        case failed(String)
        public var description: String {
            switch self {
            case .failed(let message): "PostgreSQL test cluster: \(message)"
            }
        }
    }
}
