import Foundation

/// The keyset position after the last job of a page, bound to the listing's filter.
///
/// Encoded as base64url of `1|status|created_ms|id`: opaque to clients, and a token from one
/// filter is refused by another (AIP-158: the other parameters must match the first call).
struct PageToken: Equatable {
    var status: JobStatus?
    var createdMs: Int64
    var id: String

    var encoded: String {
        let plain = "1|\(status?.rawValue ?? "")|\(createdMs)|\(id)"
        return Data(plain.utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// Decodes a token issued for the listing filtered by `status`; nil if it is not one.
    init?(encoded: String, status expected: JobStatus?) {
        guard encoded.count <= 1024 else { return nil }
        var base64 = encoded.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        guard let data = Data(base64Encoded: base64), let plain = String(data: data, encoding: .utf8)
        else { return nil }
        let parts = plain.split(separator: "|", maxSplits: 3, omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "1", let createdMs = Int64(parts[2]), !parts[3].isEmpty
        else { return nil }
        let status = parts[1].isEmpty ? nil : JobStatus(rawValue: String(parts[1]))
        guard status == expected, parts[1].isEmpty == (expected == nil) else { return nil }
        self.init(status: status, createdMs: createdMs, id: String(parts[3]))
    }

    init(status: JobStatus?, createdMs: Int64, id: String) {
        self.status = status
        self.createdMs = createdMs
        self.id = id
    }
}
