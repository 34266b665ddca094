import Digest
import Foundation
import HTTPServer
import Storage

/// The browser-facing defences: `Host` validation (DNS rebinding), `Origin` and CSRF-token checks
/// on state changes a browser could be tricked into (cookie-authenticated, or with no keys at
/// all), JSON-only bodies on JSON routes, and the security headers of every response.
extension RewindAPI {
    /// Who a request acts for once authenticated: its principal (the key's immutable id, which
    /// owns what the request creates), the key's name for people, and its role.
    struct Identity: Equatable {
        var principal: String
        var name: String
        var role: PrincipalRole
    }

    /// How a request proved who it is.
    enum Credential: Equatable {
        /// No keys are configured (single-user mode: the `anonymous` principal), or the route is
        /// open: anyone may call it.
        case open
        /// `Authorization: Bearer`: a program, which a web page cannot make send our key.
        case bearer(Identity)
        /// The session cookie a browser sends by itself, even on a forged request; `session` is
        /// the digest of its token.
        case cookie(Identity, session: String)

        /// Whether a forged cross-site request could carry this credential.
        var isAmbient: Bool {
            if case .bearer = self { return false }
            return true
        }

        /// The principal's name; nil without keys.
        var principal: String? {
            switch self {
            case .open: nil
            case .bearer(let identity), .cookie(let identity, _): identity.principal
            }
        }

        /// The owner of what this request creates.
        var owner: String { principal ?? Principal.anonymous }

        /// The owner whose rows this request may see; nil for all of them (an admin, or
        /// single-user mode, where everything is the anonymous principal's).
        var visibleOwner: String? {
            switch self {
            case .open: nil
            case .bearer(let identity), .cookie(let identity, _): identity.role == .admin ? nil : identity.principal
            }
        }

        /// Whether a row owned by `owner` is visible to this request.
        func sees(_ owner: String) -> Bool {
            visibleOwner.map { $0 == owner } ?? true
        }

        /// What CSRF tokens are bound to: the session for a cookie, else the principal.
        var csrfSubject: String {
            switch self {
            case .open: Principal.anonymous
            case .bearer(let identity): "principal:" + identity.principal
            case .cookie(_, let session): "session:" + session
            }
        }
    }

    /// On every response: no inline script may run, nothing may frame us, types are not sniffed.
    /// `Referrer-Policy: same-origin` sends no referrer to any other site, yet lets a browser name
    /// our origin on our own form posts (under `no-referrer` Chromium sends `Origin: null`, which
    /// the origin check must refuse, so no dashboard form could be submitted).
    static let securityHeaders: HTTPHeaders = [
        "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; "
            + "img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "same-origin",
    ]

    /// Applies the API's hooks to a server's configuration: body limits and the head screen (a
    /// body is refused unread when the head already decides 401/403/404/405/415), the node's
    /// memory budget for bodies, uploads read as they arrive, the security headers on the server's own errors, and `/healthz`
    /// answered on the event loop.
    public func configure(_ server: inout HTTPServer.Configuration) {
        server.bodyLimit = { [self] head in bodyLimit(for: head) }
        server.bodyLimitSetting = { [self] head in bodyLimitSetting(for: head) }
        server.screen = { [self] head in screen(head) }
        server.streamsBody = { [self] head in streamsBody(for: head) }
        server.memoryBudget = configuration.memoryBudget
        Self.applyNodeDefaults(&server)
    }

    /// What every node's server sends and answers whatever answers its requests: the security
    /// headers on its own errors, `/healthz` on the event loop, and event streams opened on a
    /// queue of their own (a thousand watchers arriving at once never hold up other requests).
    static func applyNodeDefaults(_ server: inout HTTPServer.Configuration) {
        server.defaultHeaders = securityHeaders
        server.answersInline = { head in (head.method == .get || head.method == .head) && head.path == "/healthz" }
        server.longLived = { head in head.method == .get && isEventStreamPath(head.path) }
    }

    /// `/v1/jobs/{id}/events`.
    static func isEventStreamPath(_ path: String) -> Bool {
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        return parts.count == 5 && parts[0].isEmpty && parts[1] == "v1" && parts[2] == "jobs" && parts[4] == "events"
    }

    // MARK: Host

    /// 421 unless `Host` names this server: the listen address, a loopback name when listening on
    /// loopback, or an allowed host. A DNS-rebinding page reaches us under its own name.
    func checkHost(_ request: HTTPRequest) -> HTTPResponse? {
        guard let header = request.headers["Host"] else { return nil }  // HTTP/1.0
        let host = Self.hostName(header)
        if Self.hostAllowed(host, listen: configuration.listenHost, allowed: configuration.allowedHosts) { return nil }
        return APIError(
            status: 421, slug: "host-not-allowed", title: "Unknown host",
            detail: "this server does not answer for host \(host); add it to REWIND_ALLOWED_HOSTS if it should"
        ).response
    }

    /// `example.com:8080` → `example.com`, `[::1]:80` → `::1`, lower-cased.
    static func hostName(_ header: String) -> String {
        let text = header.trimmingCharacters(in: .whitespaces).lowercased()
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            return String(text[text.index(after: text.startIndex)..<close])
        }
        if let colon = text.lastIndex(of: ":"), text.firstIndex(of: ":") == colon { return String(text[..<colon]) }
        return text
    }

    static func hostAllowed(_ host: String, listen: String, allowed: Set<String>) -> Bool {
        if allowed.contains("*") || allowed.contains(host) { return true }
        let listen = listen.lowercased()
        if host == listen { return true }
        if isLoopbackName(host) { return true }
        // Listening on every interface: clients may use any of our addresses, not a foreign name.
        if listen == "0.0.0.0" || listen == "::" { return isAddressLiteral(host) }
        return false
    }

    static func isLoopbackName(_ host: String) -> Bool {
        host == "localhost" || host.hasSuffix(".localhost") || host == "::1"
            || host.hasPrefix("127.")
                && isAddressLiteral(host)
    }

    static func isAddressLiteral(_ host: String) -> Bool {
        if host.contains(":") { return host.allSatisfy { $0.isHexDigit || $0 == ":" || $0 == "." } }
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts.allSatisfy { part in UInt8(part) != nil }
    }

    // MARK: Browser-forgeable state changes

    /// What the head alone decides for requests that change state and carry an ambient
    /// credential (or none at all): 415 when the route does not read this media type, 403 when
    /// they come from another origin. Runs before any body byte is read.
    func checkOrigin(_ request: HTTPRequest, options: RouteOptions, credential: Credential) -> HTTPResponse? {
        if let unsupported = checkMediaType(request, options: options) { return unsupported }
        guard ![.get, .head, .options].contains(request.method), credential.isAmbient else { return nil }
        if let origin = request.headers["Origin"], !sameOrigin(origin, request: request) {
            return forbidden("cross-origin-request", "requests from \(origin) may not change state on this server")
        }
        if let site = request.headers["Sec-Fetch-Site"]?.lowercased(), site == "cross-site" || site == "same-site" {
            return forbidden("cross-origin-request", "a \(site) request may not change state on this server")
        }
        return nil
    }

    /// For the same requests, once the body is in: 403 when a cookie-authenticated or form request
    /// lacks the page's CSRF token (a form carries it in its body).
    func checkForgery(_ request: HTTPRequest, options: RouteOptions, credential: Credential) -> HTTPResponse? {
        guard ![.get, .head, .options].contains(request.method), credential.isAmbient else { return nil }
        // A multipart form (the dashboard's upload) carries its token as a field. `curl -F` without
        // keys is no browser (no cookie, no Origin, no Sec-Fetch-*): it needs none.
        if let boundary = request.headers["Content-Type"].flatMap(MultipartForm.boundary(contentType:)) {
            // A streamed upload's form is checked by the upload itself once its fields have arrived,
            // before anything it stored becomes visible (`checkFormToken`).
            guard request.bodyStream == nil, Self.formNeedsToken(request, credential) else { return nil }
            return checkMultipartToken(request, boundary, credential)
        }
        let form = Self.isForm(request)
        // `curl -d @data.csv` posts a CSV as a form: from a program without keys (no cookie, no
        // Origin, no Sec-Fetch-*) it is an upload to parse, not a forged form.
        if options.forgery == .upload, form, case .open = credential,
            request.headers["Origin"] == nil, request.headers["Sec-Fetch-Site"] == nil
        {
            return nil
        }
        let signIn = options.forgery == .signInForm
        if case .cookie = credential, !form, request.headers["X-CSRF-Token"] == nil, !signIn {
            return forbidden("csrf-token-missing", "a request signed in by cookie must send the page's X-CSRF-Token")
        }
        if form || request.headers["X-CSRF-Token"] != nil {
            let sent = form ? Self.formField(request.body, "csrf_token") : request.headers["X-CSRF-Token"]
            guard let sent, sent == csrfToken(for: signIn ? .open : credential) else {
                return forbidden("csrf-token-invalid", "the CSRF token is missing or not this page's; reload the page")
            }
        }
        return nil
    }

    /// Whether a multipart form must carry the page's CSRF token: from a cookie session or a
    /// browser (Origin, Sec-Fetch-*); `curl -F` without keys is no browser and needs none.
    static func formNeedsToken(_ request: HTTPRequest, _ credential: Credential) -> Bool {
        guard ![.get, .head, .options].contains(request.method), credential.isAmbient else { return false }
        if case .cookie = credential { return true }
        return request.headers["Origin"] != nil || request.headers["Sec-Fetch-Site"] != nil
    }

    /// 403 unless a streamed form that needs a token (`formNeedsToken`) sent this page's as its
    /// `csrf_token` field.
    func checkFormToken(_ token: String?, _ request: HTTPRequest, _ credential: Credential) throws(APIError) {
        guard Self.formNeedsToken(request, credential), token != csrfToken(for: credential) else { return }
        throw APIError(
            status: 403, slug: "csrf-token-invalid", title: "Forbidden",
            detail: "the form's CSRF token is missing or not this page's; reload the page")
    }

    private func checkMultipartToken(
        _ request: HTTPRequest, _ boundary: String, _ credential: Credential
    ) -> HTTPResponse? {
        let field = (try? MultipartForm(body: request.body, boundary: boundary))?.parts
            .first { $0.name == "csrf_token" && $0.filename == nil }
            .map { String(decoding: $0.content, as: UTF8.self) }
        guard let field, field == csrfToken(for: credential) else {
            return forbidden(
                "csrf-token-invalid", "the form's CSRF token is missing or not this page's; reload the page")
        }
        return nil
    }

    /// 415 for a body whose media type the route does not read (a cross-site form can send
    /// `text/plain` without a preflight; it cannot send `application/json`).
    private func checkMediaType(_ request: HTTPRequest, options: RouteOptions) -> HTTPResponse? {
        guard let accepted = options.accepts else { return nil }
        let type = Self.mediaType(request)
        if let type, accepted.contains(type) { return nil }
        // The head says whether a body follows: a declared zero length or none at all.
        let empty =
            request.headers["Transfer-Encoding"] == nil
            && (request.headers["Content-Length"].map { Int($0) == 0 } ?? true)
        if options.acceptsEmptyBody && empty { return nil }
        return APIError(
            status: 415, slug: "unsupported-media-type", title: "Unsupported media type",
            detail: options.forgery == .signInForm
                ? "send the sign-in form as application/x-www-form-urlencoded"
                : "send the body as application/json (got \(type ?? "no Content-Type"))"
        ).response
    }

    static func mediaType(_ request: HTTPRequest) -> String? {
        guard let value = request.headers["Content-Type"] else { return nil }
        return value.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
    }

    static func isForm(_ request: HTTPRequest) -> Bool {
        mediaType(request) == "application/x-www-form-urlencoded"
    }

    /// Whether `origin` is this server as the client addressed it (or an allowed host).
    private func sameOrigin(_ origin: String, request: HTTPRequest) -> Bool {
        let lowered = origin.lowercased()
        guard lowered != "null", let schemeEnd = lowered.range(of: "://") else { return false }
        let authority = String(lowered[schemeEnd.upperBound...])
        if let host = request.headers["Host"]?.lowercased(), authority == host { return true }
        return configuration.allowedHosts.contains(Self.hostName(authority))
    }

    private func forbidden(_ slug: String, _ detail: String) -> HTTPResponse {
        APIError(status: 403, slug: slug, title: "Forbidden", detail: detail).response
    }

    /// The value of form field `name` in a URL-encoded body.
    static func formField(_ body: [UInt8], _ name: String) -> String? {
        for pair in String(decoding: body, as: UTF8.self).split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            if parts.count == 2, parts[0] == name {
                return String(parts[1]).replacingOccurrences(of: "+", with: " ").removingPercentEncoding
            }
        }
        return nil
    }

    // MARK: CSRF tokens

    /// The token pages embed for `credential`: a keyed hash of the principal with this process's
    /// secret, so another site can neither read nor compute it. It changes on restart.
    func csrfToken(for credential: Credential) -> String {
        let principal = credential.csrfSubject
        let inner = SHA256.hex(of: csrfSecret.map { $0 ^ 0x36 } + Array(principal.utf8))
        return SHA256.hex(of: csrfSecret.map { $0 ^ 0x5c } + Array(inner.utf8))
    }

    static func randomSecret() -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
    }

    // MARK: Response headers

    /// Security headers on every answer; `Cache-Control: private` on authenticated ones, so no
    /// shared cache keeps one principal's data for another.
    func finalize(_ response: HTTPResponse, credential: Credential?) -> HTTPResponse {
        var response = response
        for field in Self.securityHeaders where !response.headers.contains(field.name) {
            response.headers.add(field.name, field.value)
        }
        guard let credential, credential != .open else { return response }
        let existing = response.headers["Cache-Control"] ?? ""
        if !existing.contains("private") && !existing.contains("no-store") {
            let rest = existing.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                .filter { !$0.isEmpty && $0 != "public" }
            response.headers.set(
                "Cache-Control", (["private"] + (rest.isEmpty ? ["no-cache"] : rest)).joined(separator: ", "))
        }
        return response
    }
}
