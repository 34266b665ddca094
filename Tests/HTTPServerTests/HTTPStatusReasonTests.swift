import Foundation
import HTTPServer
import RewindTestSupport
import Testing

@testable import HTTPServer

/// Every status the server can send goes out with its registered reason phrase ("421 Misdirected
/// Request"), never the "Status 421" fallback.
@Suite("HTTP status reason phrases")
struct HTTPStatusReasonTests {
    /// Every status code the service's sources construct (`status: NNN`, `HTTPStatus(code: NNN)`),
    /// found by reading them, so a status added later is checked too.
    static func codesInSources() throws -> Set<Int> {
        let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
            "../../Sources")
        let pattern = try NSRegularExpression(pattern: #"(?:status: |HTTPStatus\(code: )([1-5][0-9][0-9])\b"#)
        var codes: Set<Int> = []
        let files = FileManager.default.enumerator(at: sources, includingPropertiesForKeys: nil)
        while let file = files?.nextObject() as? URL {
            guard file.pathExtension == "swift", let text = try? String(contentsOf: file, encoding: .utf8) else {
                continue
            }
            for match in pattern.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
                if let range = Range(match.range(at: 1), in: text), let code = Int(text[range]) { codes.insert(code) }
            }
        }
        return codes
    }

    @Test func everyStatusTheServerSendsHasItsRegisteredReasonPhrase() throws {
        let codes = try Self.codesInSources()
        #expect(codes.isSuperset(of: [400, 401, 403, 404, 413, 421, 422, 429, 503]), "\(codes.sorted())")
        for code in codes.sorted() {
            #expect(HTTPStatus(code: code).reasonPhrase != "Status \(code)", "\(code) has no reason phrase")
        }
        #expect(HTTPStatus(code: 421).description == "421 Misdirected Request")
        #expect(HTTPStatus(code: 507).description == "507 Insufficient Storage")
        #expect(HTTPStatus(code: 451).description == "451 Unavailable For Legal Reasons")
        #expect(HTTPStatus(code: 599).reasonPhrase == "Status 599")
    }

    @Test func theStatusLineOnTheWireCarriesThePhrase() throws {
        for code in [421, 415, 507, 505, 303] {
            try withServer(handler: { _ in HTTPResponse(status: HTTPStatus(code: code), text: "x") }) { _, port in
                let response = try HTTPTestClient(port: port).request("GET", "/")
                #expect(response.status == code)
                #expect(response.reason == HTTPStatus.standardReasons[code], "\(code) \(response.reason)")
            }
        }
    }
}
