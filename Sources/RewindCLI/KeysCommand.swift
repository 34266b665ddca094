import ArgumentParser
import Digest
import Foundation
import Storage

/// `rewind keys create|list|revoke`: the API keys stored in the service's database.
///
/// The database keeps only each key's SHA-256, so a key is shown once, when it is made. A running
/// service sees new and revoked keys at once (it reads them per request); revoking a key also
/// ends the dashboard sessions it signed in.
struct KeysCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys", abstract: "Create, list and revoke stored API keys.",
        discussion: """
            Works on the database directly (--database, as for `rewind serve`). With a key stored, \
            the service requires keys even without REWIND_API_KEYS. A user key sees only its own \
            jobs and data sets; an admin key (--admin, or any REWIND_API_KEYS key) sees everything.
            """,
        subcommands: [KeysCreateCommand.self, KeysListCommand.self, KeysRevokeCommand.self])
}

/// Where the keys live: the `--database` of `rewind serve`.
struct KeyDatabaseOptions: ParsableArguments {
    @OptionGroup var storage: DatabaseOptions

    func open() throws -> any Store {
        do {
            return try storage.open(poolSize: 1, nowMs: KeysCommand.nowMs())
        } catch {
            Console.error("rewind: cannot open the database \(storage.location): \(error)")
            throw ExitCode(1)
        }
    }
}

extension KeysCommand {
    static func nowMs() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    /// A new key: `rwk_` and 32 random bytes in hex (256 bits: a digest of it is a safe lookup).
    static func generateKey() -> String {
        var generator = SystemRandomNumberGenerator()
        return "rwk_"
            + (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
    }
}

/// `rewind keys create NAME [--admin]`: prints the new key once.
struct KeysCreateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create", abstract: "Create a key; prints it once (only its digest is stored).")

    @OptionGroup var storage: KeyDatabaseOptions

    @Argument(help: "The key's name: the principal owning what the key creates (letters, digits, ._-).")
    var name: String

    @Flag(help: "An admin key sees and manages every principal's jobs and data sets.")
    var admin = false

    func validate() throws {
        guard Principal.isValidKeyName(name) else {
            throw ValidationError("NAME must be 1 to 64 letters, digits, '.', '_' or '-', and not \"anonymous\"")
        }
    }

    func run() throws {
        let store = try storage.open()
        defer { try? store.close() }
        let key = KeysCommand.generateKey()
        let created = try store.createAPIKey(
            name: name, keySHA256: SHA256.hex(of: Array(key.utf8)), role: admin ? .admin : .user,
            nowMs: KeysCommand.nowMs())
        guard created else {
            Console.error("rewind: a key named \(name) exists; revoke it first or choose another name")
            throw ExitCode(1)
        }
        Console.output(key)
        Console.error("rewind: created \(admin ? "admin" : "user") key \(name); it is shown only now")
    }
}

/// `rewind keys list`: names, roles, creation and last use; never a key.
struct KeysListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "List the stored keys (never the keys themselves).")

    @OptionGroup var storage: KeyDatabaseOptions

    func run() throws {
        let store = try storage.open()
        defer { try? store.close() }
        let keys = try store.listAPIKeys()
        Console.output("NAME\tROLE\tCREATED\tLAST USED")
        for key in keys {
            Console.output(
                "\(key.name)\t\(key.role.rawValue)\t\(Self.time(key.createdMs))\t\(key.lastUsedMs.map(Self.time) ?? "never")"
            )
        }
    }

    static func time(_ ms: Int64) -> String {
        let formatter = ISO8601DateFormatter()
        return formatter.string(from: Date(timeIntervalSince1970: Double(ms) / 1000))
    }
}

/// `rewind keys revoke NAME`: the key stops working at once and its sessions end.
struct KeysRevokeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "revoke", abstract: "Revoke a key: it stops working and its dashboard sessions end.")

    @OptionGroup var storage: KeyDatabaseOptions

    @Argument(help: "The key's name.")
    var name: String

    func run() throws {
        let store = try storage.open()
        defer { try? store.close() }
        guard try store.revokeAPIKey(name: name) else {
            Console.error("rewind: no stored key is named \(name)")
            throw ExitCode(1)
        }
        Console.error("rewind: revoked \(name)")
    }
}
