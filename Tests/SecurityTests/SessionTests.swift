import Digest
import Foundation
import JSON
import RewindTestSupport
import Storage
import Testing

@testable import API

/// Issue 10, point 8: keys stored hashed and managed with `rewind keys`; the dashboard signs in
/// to an opaque, expiring, revocable session instead of keeping the key in a cookie.
@Suite("Security: stored keys and sessions", .serialized)
struct SessionTests {
    @Test func signingInGivesAnOpaqueSessionThatLogoutRevocationAndExpiryEnd() throws {
        var configuration = TestService.defaultAPIConfiguration
        configuration.apiKeys = ["seeded-admin"]
        let service = try TestService(api: configuration, startsWorkers: false)
        defer { service.stop() }
        let key = "alice-secret-key"
        #expect(
            try service.store.createAPIKey(
                name: "alice", keySHA256: SHA256.hex(of: Array(key.utf8)), role: .user, nowMs: 1))
        let browser = SecuritySession(port: service.port)

        let (cookie, setCookie) = try browser.signIn(key: key)
        #expect(!setCookie.contains(key) && setCookie.hasPrefix("rewind_session="))
        #expect(
            setCookie.contains("HttpOnly") && setCookie.contains("SameSite=Strict")
                && setCookie.contains("Max-Age=43200"))
        #expect(!setCookie.contains("Secure"))
        // Only the token's digest is stored.
        let token = String(cookie.1.dropFirst("rewind_session=".count))
        #expect(
            try service.store.session(
                tokenSHA256: SHA256.hex(of: Array(token.utf8)), nowMs: Int64(Date().timeIntervalSince1970 * 1000))?
                .principal == "alice")
        #expect(try service.store.session(tokenSHA256: token, nowMs: 0) == nil)
        #expect(try browser.get("/v1/jobs", headers: [cookie]).status == 200)
        // Behind a TLS-terminating proxy the cookie is Secure.
        let (_, proxied) = try browser.signIn(key: key, headers: [("X-Forwarded-Proto", "https")])
        #expect(proxied.contains("; Secure"))

        // Logout needs the page's CSRF token, then ends the session and clears the cookie.
        let form = ("Content-Type", "application/x-www-form-urlencoded")
        #expect(try browser.request("POST", "/logout", headers: [cookie, form], body: Array("x=1".utf8)).status == 403)
        let page = try browser.get("/", headers: [cookie])
        let csrf = try #require(BrowserDefenceTests.csrfToken(in: page.text))
        #expect(page.text.contains("action=\"/logout\""))  // the page offers to sign out
        #expect(try !browser.get("/", headers: [("Authorization", "Bearer seeded-admin")]).text.contains("/logout"))
        let out = try browser.request(
            "POST", "/logout", headers: [cookie, form], body: Array("csrf_token=\(csrf)".utf8))
        #expect(out.status == 303)
        #expect(out.header("Set-Cookie")?.contains("Max-Age=0") == true)
        #expect(try browser.get("/v1/jobs", headers: [cookie]).status == 401)

        // Revoking the key ends its other sessions and the key itself.
        let (again, _) = try browser.signIn(key: key)
        #expect(try browser.get("/v1/jobs", headers: [again]).status == 200)
        #expect(try service.store.revokeAPIKey(name: "alice"))
        #expect(try browser.get("/v1/jobs", headers: [again]).status == 401)
        #expect(try SecuritySession(port: service.port, apiKey: key).get("/v1/jobs").status == 401)
        // A seeded key signs in as an admin.
        let (admin, _) = try browser.signIn(key: "seeded-admin")
        #expect(try browser.get("/v1/jobs", headers: [admin]).status == 200)
    }

    @Test func aSessionExpires() throws {
        var configuration = TestService.defaultAPIConfiguration
        configuration.apiKeys = ["seeded-admin"]
        configuration.sessionLifetimeMs = 1_000
        let service = try TestService(api: configuration, startsWorkers: false)
        defer { service.stop() }
        let browser = SecuritySession(port: service.port)
        let (cookie, setCookie) = try browser.signIn(key: "seeded-admin")
        #expect(setCookie.contains("Max-Age=1;"))
        #expect(try browser.get("/v1/jobs", headers: [cookie]).status == 200)
        usleep(1_200_000)
        #expect(try browser.get("/v1/jobs", headers: [cookie]).status == 401)
    }

    @Test func theKeysCommandCreatesListsAndRevokesStoredKeysOfARunningService() throws {
        let service = try TestService(startsWorkers: false)  // no REWIND_API_KEYS
        defer { service.stop() }
        let database = service.directory.file("rewind.sqlite")
        #expect(try SecuritySession(port: service.port).get("/v1/jobs").status == 200)  // single-user mode

        let created = try CommandLineRun.rewind(["keys", "create", "alice", "--database", database])
        #expect(created.status == 0, "\(created.stderr)")
        let key = created.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(key.count >= 40)
        let admin = try CommandLineRun.rewind(["keys", "create", "ops", "--admin", "--database", database])
        #expect(admin.status == 0)
        #expect(try CommandLineRun.rewind(["keys", "create", "alice", "--database", database]).status != 0)
        #expect(try CommandLineRun.rewind(["keys", "create", "no:colons", "--database", database]).status != 0)

        let list = try CommandLineRun.rewind(["keys", "list", "--database", database])
        #expect(list.status == 0)
        #expect(list.stdout.contains("alice\tuser") && list.stdout.contains("ops\tadmin"))
        #expect(!list.stdout.contains(key))

        // A stored key turns authentication on (the service re-reads within a second).
        usleep(1_100_000)
        #expect(try SecuritySession(port: service.port).get("/v1/jobs").status == 401)
        #expect(try SecuritySession(port: service.port, apiKey: key).get("/v1/jobs").status == 200)
        let used = try CommandLineRun.rewind(["keys", "list", "--database", database])
        #expect(!(used.stdout.split(separator: "\n").first { $0.hasPrefix("alice\t") } ?? "").hasSuffix("never"))

        let revoked = try CommandLineRun.rewind(["keys", "revoke", "alice", "--database", database])
        #expect(revoked.status == 0)
        #expect(try SecuritySession(port: service.port, apiKey: key).get("/v1/jobs").status == 401)
        #expect(try CommandLineRun.rewind(["keys", "revoke", "alice", "--database", database]).status != 0)
        #expect(try !CommandLineRun.rewind(["keys", "list", "--database", database]).stdout.contains("alice"))
    }
}
