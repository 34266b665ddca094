/// Why a request could not be accepted, decided by the parser before any handler runs.
///
/// Each kind maps to one status; the server answers it as problem+json and closes, because after
/// a framing error the position of the next request in the byte stream is unknown.
public struct HTTPParseError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        case malformedRequestLine
        case invalidMethod
        case invalidTarget
        case unsupportedVersion
        case malformedHeader
        case headerTooLarge
        case missingHost
        case invalidContentLength
        case conflictingFraming
        case unsupportedTransferEncoding
        case invalidChunk
        case bodyTooLarge
        case unsupportedExpectation
    }

    public var kind: Kind
    /// A human sentence for the problem's `detail`; never echoes more than a short excerpt.
    public var detail: String

    public init(_ kind: Kind, _ detail: String) {
        self.kind = kind
        self.detail = detail
    }

    public var status: HTTPStatus {
        switch kind {
        case .headerTooLarge: .requestHeaderFieldsTooLarge
        case .bodyTooLarge: .contentTooLarge
        case .unsupportedTransferEncoding: .notImplemented
        case .unsupportedVersion: .httpVersionNotSupported
        case .unsupportedExpectation: .expectationFailed
        default: .badRequest
        }
    }

    public var description: String { "\(status.code) \(kind): \(detail)" }
}
