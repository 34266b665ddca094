/// Who may call the API: stored API keys and the dashboard's sign-in sessions.
///
/// Only SHA-256 digests of keys and session tokens are stored: both are high-entropy random
/// strings, so the digest is as good as the secret for lookup and useless to whoever reads the
/// database. The callers hash; storage never sees a secret.
public protocol AccessStore: Sendable {
    /// Stores a key; false, storing nothing, when `name` is taken.
    func createAPIKey(name: String, keySHA256: String, role: PrincipalRole, nowMs: Int64) throws -> Bool
    /// The key whose digest is `keySHA256`, or nil.
    func apiKey(keySHA256: String) throws -> APIKeyRecord?
    /// Every stored key, oldest first (no digests).
    func listAPIKeys() throws -> [APIKeyRecord]
    /// The digests of every stored key, in one read: how a thousand open event streams re-check
    /// their keys at the cost of one query rather than one each. Nil from a store that cannot.
    func storedKeyDigests() throws -> Set<String>?
    /// Deletes the key named `name` and every session it signed in; false when there is none.
    func revokeAPIKey(name: String) throws -> Bool
    /// Records a use of the key (callers throttle: once a minute is plenty).
    func touchAPIKey(name: String, nowMs: Int64) throws
    /// Whether any key is stored: then the API requires one even without `REWIND_API_KEYS`.
    func hasAPIKeys() throws -> Bool

    /// Stores a session signed in by `principal`, valid until `expiresMs`. With `keySHA256` (a
    /// stored key's digest) the session belongs to that key: it is stored only if the key still
    /// exists, checked in the same statement (false, storing nothing, when it does not), and it
    /// ends with the key. Without, it is a seeded key's, which the caller checks.
    @discardableResult
    func createSession(
        tokenSHA256: String, principal: String, keySHA256: String?, role: PrincipalRole, nowMs: Int64, expiresMs: Int64
    ) throws -> Bool
    /// The unexpired session whose token digest is `tokenSHA256` and whose stored key, if any,
    /// still exists; or nil.
    func session(tokenSHA256: String, nowMs: Int64) throws -> SessionRecord?
    /// Ends one session (sign-out); false when there was none.
    @discardableResult
    func deleteSession(tokenSHA256: String) throws -> Bool
    /// Forgets sessions that expired before `nowMs`.
    @discardableResult
    func purgeExpiredSessions(nowMs: Int64) throws -> Int
}

extension AccessStore {
    /// A session that belongs to no stored key (a seeded key's).
    public func createSession(
        tokenSHA256: String, principal: String, role: PrincipalRole, nowMs: Int64, expiresMs: Int64
    ) throws {
        try createSession(
            tokenSHA256: tokenSHA256, principal: principal, keySHA256: nil, role: role, nowMs: nowMs,
            expiresMs: expiresMs)
    }
}

/// What a principal may see: its own jobs and data sets, or everyone's.
public enum PrincipalRole: String, Sendable, CaseIterable {
    case admin, user
}

/// Principal names with a fixed meaning. A key's principal is its immutable id, `key:` and the
/// first 16 hex digits of its SHA-256 (`Principal.ofKey(sha256:)`), never its name: a key
/// created again under a revoked key's name is another principal and inherits nothing.
public enum Principal {
    /// The one principal of single-user mode (no keys), and the owner of every row that existed
    /// before owners did (migration 0003): with keys configured only admins see those.
    public static let anonymous = "anonymous"

    /// The principal of the key whose SHA-256 (hex) is `sha256`, stored or seeded.
    public static func ofKey(sha256: String) -> String { "key:" + sha256.prefix(16) }

    /// True for names `rewind keys create` accepts: 1 to 64 letters, digits and `._-`, not
    /// `anonymous` (the `key:` prefix of seeded keys cannot be spelt without `:`).
    public static func isValidKeyName(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 64 && name != anonymous
            && name.unicodeScalars.allSatisfy { scalar in
                ASCII.isAlphanumeric(scalar) || "._-".unicodeScalars.contains(scalar)
            }
    }
}

/// A stored API key, without its digest.
public struct APIKeyRecord: Sendable, Equatable {
    public var name: String
    public var role: PrincipalRole
    public var createdMs: Int64
    /// Nil until first used; updated at most about once a minute.
    public var lastUsedMs: Int64?
}

/// A signed-in dashboard session.
public struct SessionRecord: Sendable, Equatable {
    public var principal: String
    public var role: PrincipalRole
    public var createdMs: Int64
    public var expiresMs: Int64
    /// The digest of the stored key that signed it in; nil for a seeded key's session.
    public var keySHA256: String? = nil
}

extension AccessStore {
    public func storedKeyDigests() throws -> Set<String>? { nil }
}
