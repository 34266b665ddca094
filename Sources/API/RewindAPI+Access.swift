import Dashboard
import Digest
import Foundation
import HTTPServer
import Storage
import Tuning

/// Authentication: API keys (seeded from `REWIND_API_KEYS`, or stored by `rewind keys create`)
/// and the dashboard's sign-in sessions.
///
/// Keys and session tokens are random and high-entropy, so their SHA-256 is stored and looked up
/// in place of the secret: the database never holds one, and a lookup by digest tells a timing
/// observer nothing about the secret. Seeded keys are compared digest to digest in constant time.
extension RewindAPI {
    static let sessionCookie = "rewind_session"

    /// With keys configured or stored, everything but health, readiness, metrics, the API
    /// description, the dashboard's assets and the sign-in form needs one: `Authorization:
    /// Bearer KEY` (any case of `Bearer`), or the session cookie `POST /login` sets for browsers.
    /// A page asks a browser to sign in instead of answering 401 JSON. Wrong keys are
    /// rate-limited per client address: once its bucket is empty, even the right key waits (429).
    func authenticate(_ request: HTTPRequest, access: RouteOptions.Access) -> Authentication {
        guard access != .open, keysRequired() else { return .granted(.open) }
        let bearer = Self.bearerKey(request)
        let cookie = bearer == nil ? Self.cookieValue(request, Self.sessionCookie) : nil
        let client = Self.client(request)
        if bearer != nil || cookie != nil, let retry = authFailures.wait(client) {
            return .denied(
                Self.rateLimited(retry, "too many failed authentications from this address; retry in \(retry) s"))
        }
        if let bearer, let identity = identity(forKey: bearer) { return .granted(.bearer(identity)) }
        if let cookie, let granted = sessionCredential(cookie) { return .granted(granted) }
        if bearer != nil || cookie != nil { _ = authFailures.take(client) }
        if access == .page {
            return .denied(
                HTTPResponse(
                    status: .unauthorized, text: DashboardPages.signIn(csrfToken: csrfToken(for: .open)),
                    contentType: "text/html; charset=utf-8"))
        }
        var headers = HTTPHeaders()
        headers.set("WWW-Authenticate", "Bearer realm=\"rewind\"")
        return .denied(
            APIError(
                ProblemDetails(
                    status: 401, slug: "unauthorized", title: "Missing or invalid API key",
                    detail: bearer == nil && cookie == nil
                        ? "send Authorization: Bearer <key>" : "the API key or session is not valid"),
                headers: headers
            ).response)
    }

    /// The outcome of `authenticate`: who the caller is, or the answer refusing it.
    enum Authentication {
        case granted(Credential)
        case denied(HTTPResponse)
    }

    /// Whether requests need a key: some are seeded, or some are stored. The store is asked at
    /// most once a second, so `rewind keys create` on a running service takes effect at once
    /// without a query per request; a failing store keeps the last answer.
    func keysRequired() -> Bool {
        if !seededKeys.isEmpty { return true }
        let now = ContinuousClock.now
        if let fresh = storedKeysSeen.withLock({ seen in
            seen.at.map { now - $0 < .seconds(1) } == true ? seen.present : nil
        }) {
            return fresh
        }
        let present = (try? store.hasAPIKeys()) ?? storedKeysSeen.withLock { $0.present }
        storedKeysSeen.withLock { $0 = (now, present) }
        return present
    }

    /// The principal a key stands for: `key:` and the start of its digest (so logs and owners
    /// never carry the key, and a key created again under an old name is a new principal); a
    /// seeded key is an admin named by its principal, a stored key has its name and role.
    func identity(forKey key: String) -> Identity? {
        let digest = SHA256.hex(of: Array(key.utf8))
        var seeded: String?
        for entry in seededKeys where Self.constantTimeEqual(entry.digest, digest) { seeded = entry.name }
        if let seeded { return Identity(principal: seeded, name: seeded, role: .admin) }
        guard let record = try? store.apiKey(keySHA256: digest) else { return nil }
        let now = clock()
        // Last use is kept to the minute: a write per request would serialise every read.
        if record.lastUsedMs.map({ now - $0 >= 60_000 }) ?? true {
            try? store.touchAPIKey(name: record.name, nowMs: now)
        }
        return Identity(principal: Principal.ofKey(sha256: digest), name: record.name, role: record.role)
    }

    static func seededPrincipal(_ digest: String) -> String { Principal.ofKey(sha256: digest) }

    /// The credential of an unexpired session whose key still exists: the store checks a stored
    /// key (revoking it ends its sessions), and a seeded key removed from the environment ends
    /// them here.
    private func sessionCredential(_ token: String) -> Credential? {
        let digest = SHA256.hex(of: Array(token.utf8))
        return (try? sessionIdentity(digest: digest)).flatMap { $0 }.map { .cookie($0, session: digest) }
    }

    /// Who the session whose token digest is `digest` signs in, or nil when it is over.
    private func sessionIdentity(digest: String) throws -> Identity? {
        guard let session = try store.session(tokenSHA256: digest, nowMs: clock()) else { return nil }
        if let key = session.keySHA256 {
            return Identity(principal: Principal.ofKey(sha256: key), name: session.principal, role: session.role)
        }
        guard session.principal.hasPrefix("key:"), seededKeys.contains(where: { $0.name == session.principal }) else {
            return nil
        }
        return Identity(principal: session.principal, name: session.principal, role: session.role)
    }

    /// What an event stream opened by this request re-checks while it is open.
    func streamCredential(_ context: RouteContext) -> StreamCredential {
        switch context.credential {
        case .open: .open
        case .bearer: Self.bearerKey(context.request).map { .key(sha256: SHA256.hex(of: Array($0.utf8))) } ?? .open
        case .cookie(_, let session): .session(sha256: session)
        }
    }

    /// The credentials among `credentials` that no longer hold (see `credentialHolds`). Stored
    /// keys are checked against one read of every key's digest, not one read each: a thousand
    /// streams opened with a thousand keys cost the store one query per check, not a thousand.
    func revokedCredentials(among credentials: Set<StreamCredential>) -> Set<StreamCredential> {
        let keys = credentials.filter { if case .key = $0 { true } else { false } }
        let stored: Set<String>? = keys.count > 1 ? (try? store.storedKeyDigests()) ?? nil : nil
        return credentials.filter { credential in
            guard let stored, case .key(let digest) = credential else { return !credentialHolds(credential) }
            if seededKeys.contains(where: { Self.constantTimeEqual($0.digest, digest) }) { return false }
            return !stored.contains(digest)
        }
    }

    /// Whether a stream's credential still holds: no keys yet for an open one, the key still
    /// stored (or seeded), the session still signed in. A store that cannot answer revokes
    /// nothing: the next check asks again.
    func credentialHolds(_ credential: StreamCredential) -> Bool {
        do {
            switch credential {
            case .open: return !keysRequired()
            case .key(let digest):
                if seededKeys.contains(where: { Self.constantTimeEqual($0.digest, digest) }) { return true }
                return try store.apiKey(keySHA256: digest) != nil
            case .session(let digest): return try sessionIdentity(digest: digest) != nil
            }
        } catch {
            return true
        }
    }

    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let left = Array(a.utf8), right = Array(b.utf8)
        guard left.count == right.count else { return false }
        var difference: UInt8 = 0
        for index in left.indices { difference |= left[index] ^ right[index] }
        return difference == 0
    }

    /// The key of `Authorization: Bearer KEY`; the scheme name is case-insensitive (RFC 9110 §11.1).
    static func bearerKey(_ request: HTTPRequest) -> String? {
        guard let header = request.headers["Authorization"] else { return nil }
        let parts = header.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        let key = parts[1].trimmingCharacters(in: .whitespaces)
        return key.isEmpty ? nil : key
    }

    static func cookieValue(_ request: HTTPRequest, _ name: String) -> String? {
        for header in request.headers.values(for: "Cookie") {
            for pair in header.split(separator: ";") {
                let parts = pair.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1)
                if parts.count == 2, parts[0] == name { return String(parts[1]) }
            }
        }
        return nil
    }

    // MARK: Sessions

    /// `POST /login` with a form-encoded `key` (and the sign-in page's CSRF token): a new session
    /// whose opaque token the cookie carries (never the key), then `/`. Wrong keys count against
    /// the client's failure bucket.
    func signIn(_ context: RouteContext) -> HTTPResponse {
        let client = Self.client(context.request)
        if let retry = authFailures.wait(client) {
            return Self.rateLimited(retry, "too many failed sign-ins from this address; retry in \(retry) s")
        }
        guard let key = Self.formField(context.request.body, "key"), let identity = identity(forKey: key) else {
            _ = authFailures.take(client)
            return signInRefused()
        }
        let token = Self.randomSecret().map { String(format: "%02x", $0) }.joined()
        let now = clock()
        let keyDigest = SHA256.hex(of: Array(key.utf8))
        do {
            // A stored key revoked since `identity(forKey:)` found it gets no session: the store
            // checks the key and inserts in one statement.
            let stored = seededKeys.contains { Self.constantTimeEqual($0.digest, keyDigest) } ? nil : keyDigest
            guard
                try store.createSession(
                    tokenSHA256: SHA256.hex(of: Array(token.utf8)), principal: identity.name, keySHA256: stored,
                    role: identity.role, nowMs: now, expiresMs: now + configuration.sessionLifetimeMs)
            else {
                return signInRefused()
            }
            _ = try? store.purgeExpiredSessions(nowMs: now)
        } catch {
            log("storage error", ["error": "\(error)"])
            return APIError.storageUnavailable.response
        }
        var headers = HTTPHeaders()
        headers.set("Location", "/")
        headers.set("Set-Cookie", sessionCookie(token, maxAge: configuration.sessionLifetimeMs / 1000, context.request))
        return HTTPResponse(status: HTTPStatus(code: 303), headers: headers)
    }

    /// The sign-in page again, saying the key is not valid (401).
    private func signInRefused() -> HTTPResponse {
        HTTPResponse(
            status: .unauthorized,
            text: DashboardPages.signIn(error: "That key is not valid.", csrfToken: csrfToken(for: .open)),
            contentType: "text/html; charset=utf-8")
    }

    /// `POST /logout` (a form with the page's CSRF token): the session is deleted, the cookie
    /// cleared, then the sign-in page.
    func signOut(_ context: RouteContext) -> HTTPResponse {
        if case .cookie(_, let session) = context.credential {
            do { try store.deleteSession(tokenSHA256: session) } catch { return APIError.storageUnavailable.response }
        }
        var headers = HTTPHeaders()
        headers.set("Location", "/")
        headers.set("Set-Cookie", sessionCookie("", maxAge: 0, context.request))
        return HTTPResponse(status: HTTPStatus(code: 303), headers: headers)
    }

    /// The cookie: HttpOnly, SameSite=Strict, expiring with the session, and `Secure` when the
    /// client reached us over TLS (a TLS-terminating proxy says so with `X-Forwarded-Proto`).
    private func sessionCookie(_ value: String, maxAge: Int64, _ request: HTTPRequest) -> String {
        let secure =
            request.headers["X-Forwarded-Proto"]?.split(separator: ",").first?
            .trimmingCharacters(in: .whitespaces).lowercased() == "https"
        return "\(Self.sessionCookie)=\(value); Path=/; Max-Age=\(maxAge); HttpOnly; SameSite=Strict"
            + (secure ? "; Secure" : "")
    }
}
