import Foundation
import HTTPServer
import JSON
import RewindTestSupport
import Testing

@testable import API

/// Issue 10, points 9 and 12: what a web page can make a browser do to the service (CSRF, DNS
/// rebinding), and the headers that keep pages from being framed, sniffed or cached publicly.
@Suite("Security: browsers", .serialized)
struct BrowserDefenceTests {
    // MARK: 9. CSRF and DNS rebinding

    @Test func withoutKeysAPageElsewhereCannotSubmitCancelOrRebindItsWayIn() throws {
        let service = try TestService(startsWorkers: false)
        defer { service.stop() }
        let session = SecuritySession(port: service.port)
        let id = try session.submit(SecuritySpecs.endless)
        let spec = Array(SecuritySpecs.small().utf8)

        // A form or `text/plain` body needs no preflight: the JSON route refuses it.
        let plain = try session.request("POST", "/v1/jobs", headers: [("Content-Type", "text/plain")], body: spec)
        #expect(plain.status == 415 && plain.slug == "unsupported-media-type")
        #expect(try session.request("POST", "/v1/jobs", body: spec).status == 415)
        // Another origin may not change state, whatever it sends.
        let crossOrigin = try session.postJSON(
            "/v1/jobs", SecuritySpecs.small(), headers: [("Origin", "https://evil.example")])
        #expect(crossOrigin.status == 403 && crossOrigin.slug == "cross-origin-request")
        let crossSite = try session.request(
            "POST", "/v1/jobs/\(id)/cancel", headers: [("Sec-Fetch-Site", "cross-site")])
        #expect(crossSite.status == 403)
        // A form post without the page's token is refused.
        let form = try session.request(
            "POST", "/v1/jobs/\(id)/cancel", headers: [("Content-Type", "application/x-www-form-urlencoded")],
            body: Array("x=1".utf8))
        #expect(form.status == 403 && form.slug == "csrf-token-invalid")
        // A rebound name reaches 127.0.0.1 with the attacker's Host: refused before anything runs.
        let rebound = try raw(
            service.port, "POST /v1/jobs/\(id)/cancel HTTP/1.1\r\nHost: evil.example:8080\r\nContent-Length: 0\r\n\r\n")
        #expect(rebound.status == 421)
        #expect(try raw(service.port, "GET /v1/jobs HTTP/1.1\r\nHost: attacker.example\r\n\r\n").status == 421)
        #expect(try session.get("/v1/jobs/\(id)").json["status"]?.stringValue == "queued")

        // The dashboard's own form, with its token and our origin, works.
        let page = try session.get("/jobs/\(id)")
        let token = try #require(Self.csrfToken(in: page.text))
        #expect(page.text.contains("name=\"csrf_token\" value=\"\(token)\""))
        let own = try session.request(
            "POST", "/v1/jobs/\(id)/cancel",
            headers: [("Content-Type", "application/x-www-form-urlencoded"), ("Origin", "http://localhost")],
            body: Array("csrf_token=\(token)".utf8))
        #expect(own.status == 202)
    }

    @Test func aCookieSignedInRequestNeedsThePagesTokenAndAnAllowedHostIsAccepted() throws {
        var configuration = TestService.defaultAPIConfiguration
        configuration.apiKeys = ["key1"]
        configuration.allowedHosts = ["rewind.internal"]
        let service = try TestService(api: configuration, startsWorkers: false)
        defer { service.stop() }
        let session = SecuritySession(port: service.port)
        let cookie = try session.signIn(key: "key1").cookie
        let spec = Array(SecuritySpecs.small().utf8)
        let json = ("Content-Type", "application/json")

        let noToken = try session.request("POST", "/v1/jobs", headers: [cookie, json], body: spec)
        #expect(noToken.status == 403 && noToken.slug == "csrf-token-missing")
        let index = try session.get("/", headers: [cookie])
        let token = try #require(Self.csrfToken(in: index.text))
        let wrong = try session.request(
            "POST", "/v1/jobs",
            headers: [cookie, json, ("X-CSRF-Token", (token.first == "0" ? "1" : "0") + token.dropFirst())], body: spec)
        #expect(wrong.status == 403)
        #expect(
            try session.request("POST", "/v1/jobs", headers: [cookie, json, ("X-CSRF-Token", token)], body: spec).status
                == 202)
        // A program with the key in a header is not a browser: no token needed.
        #expect(
            try SecuritySession(port: service.port, apiKey: "key1").submit(SecuritySpecs.small(name: "bearer")).isEmpty
                == false)
        // The sign-in form carries its own token; a forged sign-in without it is refused.
        let signIn = try session.get("/")
        let signInToken = try #require(Self.csrfToken(in: signIn.text))
        let form = ("Content-Type", "application/x-www-form-urlencoded")
        #expect(try session.request("POST", "/login", headers: [form], body: Array("key=key1".utf8)).status == 403)
        #expect(
            try session.request(
                "POST", "/login", headers: [form], body: Array("key=key1&csrf_token=\(signInToken)".utf8)
            ).status == 303)
        #expect(try raw(service.port, "GET /healthz HTTP/1.1\r\nHost: rewind.internal:8080\r\n\r\n").status == 200)
    }

    // MARK: 12. Headers and paths

    @Test func everyResponseCarriesTheSecurityHeadersAndAuthenticatedOnesArePrivate() throws {
        var configuration = TestService.defaultAPIConfiguration
        configuration.apiKeys = ["key1"]
        let service = try TestService(api: configuration, startsWorkers: false)
        defer { service.stop() }
        let session = SecuritySession(port: service.port)
        let responses = [
            try session.get("/healthz"),
            try session.get("/v1/jobs"),  // 401
            try session.get("/no/such/route"),
            try session.get("/assets/common.js"),
            try raw(service.port, "GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"),  // the server's own 400
        ]
        for response in responses {
            let policy = response.header("Content-Security-Policy") ?? ""
            #expect(
                policy.contains("script-src 'self';") && policy.contains("frame-ancestors 'none'"), "\(response.status)"
            )
            #expect(response.header("X-Content-Type-Options") == "nosniff")
        }
        #expect(responses[4].status == 400)

        // `bearer` in any case is the Bearer scheme; the answer is private to the key.
        let lower = try session.get("/v1/jobs", headers: [("Authorization", "bearer key1")])
        #expect(lower.status == 200)
        #expect(lower.header("Cache-Control")?.hasPrefix("private") == true)
        #expect(try session.get("/v1/jobs", headers: [("Authorization", "BEARER key1")]).status == 200)

        // Pages load their scripts from /assets: nothing inline for a policy to allow.
        let page = try session.get("/", headers: [try session.signIn(key: "key1").cookie])
        #expect(page.text.contains("<script src=\"/assets/common.js\"></script>"))
        #expect(!page.text.contains("<script>"))
    }

    @Test func anEncodedSlashInAPathSegmentIsNotASeparator() throws {
        let service = try TestService(startsWorkers: false)
        defer { service.stop() }
        let session = SecuritySession(port: service.port)
        let id = try session.submit(SecuritySpecs.endless)
        let cancel = try session.request(
            "POST", "/v1/jobs/\(id)%2Fcancel", headers: [("Content-Type", "application/json")])
        #expect(cancel.status == 404 || cancel.status == 405)
        #expect(try session.get("/v1/jobs/\(id)%2Fhistory").status == 404)
        #expect(try session.get("/v1/jobs/\(id)").json["status"]?.stringValue == "queued")
    }

    /// Sends `text` as is (for heads a normal client would not write) and reads the answer.
    func raw(_ port: Int, _ text: String) throws -> HTTPTestResponse {
        let client = try HTTPTestClient(port: port)
        defer { client.close() }
        try client.send(text)
        return try client.readResponse()
    }

    static func csrfToken(in html: String) -> String? {
        guard let start = html.range(of: "<meta name=\"csrf-token\" content=\"") else { return nil }
        let rest = html[start.upperBound...]
        guard let end = rest.firstIndex(of: "\"") else { return nil }
        let token = String(rest[..<end])
        return token.isEmpty ? nil : token
    }
}

/// The pure part of the Host check: which names a server listening on an address answers for.
@Suite("Security: host names")
struct HostNameTests {
    @Test(arguments: [
        ("localhost:8080", "localhost"), ("LOCALHOST", "localhost"), ("[::1]:80", "::1"), ("127.0.0.1:9", "127.0.0.1"),
        ("rewind.example.com", "rewind.example.com"), ("::1", "::1"),
    ])
    func hostNamesLoseTheirPortAndCase(header: String, name: String) {
        #expect(RewindAPI.hostName(header) == name)
    }

    @Test func loopbackListenersAnswerOnlyLoopbackNamesAndTheAllowList() {
        for name in ["localhost", "app.localhost", "127.0.0.1", "127.1.2.3", "::1"] {
            #expect(RewindAPI.hostAllowed(name, listen: "127.0.0.1", allowed: []), "\(name)")
        }
        for name in ["evil.example", "127.0.0.1.evil.example", "localhost.evil.example", "10.0.0.1", "127.evil"] {
            #expect(!RewindAPI.hostAllowed(name, listen: "127.0.0.1", allowed: []), "\(name)")
        }
        #expect(RewindAPI.hostAllowed("rewind.internal", listen: "127.0.0.1", allowed: ["rewind.internal"]))
        #expect(RewindAPI.hostAllowed("anything", listen: "127.0.0.1", allowed: ["*"]))
    }

    @Test func wildcardListenersAnswerAddressesButNoForeignName() {
        #expect(RewindAPI.hostAllowed("192.168.1.20", listen: "0.0.0.0", allowed: []))
        #expect(RewindAPI.hostAllowed("fe80::1", listen: "::", allowed: []))
        #expect(!RewindAPI.hostAllowed("attacker.example", listen: "0.0.0.0", allowed: []))
        #expect(RewindAPI.hostAllowed("myhost", listen: "myhost", allowed: []))
    }
}
