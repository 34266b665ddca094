import ArgumentParser
import Foundation
import Storage

/// Where the database is, for every command that opens it (`serve`, `worker`, `keys`): an SQLite
/// file, or a PostgreSQL URL with the password in a file (a mounted secret) rather than the URL.
struct DatabaseOptions: ParsableArguments {
    @Option(
        help: """
            SQLite file (created if missing) or postgres://USER@HOST:PORT/DB URL; what the URL leaves \
            out comes from the usual PG* variables (REWIND_DATABASE).
            """)
    var database: String = Environment.string("REWIND_DATABASE") ?? "rewind.sqlite"

    @Option(
        name: .customLong("database-password-file"),
        help: "File holding the PostgreSQL password, e.g. a mounted secret (REWIND_DATABASE_PASSWORD_FILE).")
    var databasePasswordFile: String = Environment.string("REWIND_DATABASE_PASSWORD_FILE") ?? ""

    var location: StoreLocation { StoreLocation(database) }

    /// Opens (migrating if needed) the database with at most `poolSize` PostgreSQL connections.
    func open(poolSize: Int, health: DatabaseHealth = DatabaseHealth(), nowMs: Int64) throws -> any Store {
        let password = databasePasswordFile.isEmpty ? nil : try Self.readPassword(from: databasePasswordFile)
        return try location.open(password: password, poolSize: poolSize, health: health, nowMs: nowMs)
    }

    /// The password in a secret file: its first line, without the line break.
    static func readPassword(from path: String) throws -> String {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        return String(text.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
            .trimmingCharacters(in: .init(charactersIn: "\r"))
    }
}
