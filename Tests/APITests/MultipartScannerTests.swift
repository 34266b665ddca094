import Testing

@testable import API

/// The form scanner fed a body in pieces of any size: boundaries cut anywhere between pieces give
/// the same parts as the whole body at once.
@Suite("Reading multipart forms as they arrive")
struct MultipartScannerTests {
    /// Each part's names and content as the scanner reports them, the body fed in `cuts`.
    static func scan(_ body: [UInt8], boundary: String, cuts: [Int]) throws -> [String] {
        var scanner = try MultipartScanner(boundary: boundary)
        var parts: [String] = []
        var content: [UInt8] = []
        var start = 0
        for end in cuts + [body.count] where end >= start {
            try body[start..<end].withUnsafeBufferPointer { piece in
                try scanner.feed(piece) { event in
                    switch event {
                    case .partStarted(let name, let filename): parts.append("\(name ?? "-")|\(filename ?? "-")|")
                    case .data(let bytes): content += bytes
                    case .partEnded:
                        parts[parts.count - 1] += String(decoding: content, as: UTF8.self)
                        content = []
                    }
                }
            }
            start = end
        }
        try scanner.finish()
        return parts
    }

    @Test func everySplitPointGivesTheSameParts() throws {
        // Content that holds the boundary's prefix and CRLFs, so a cut inside a near-delimiter matters.
        let file = Array("1,0\r\n--XyZ12,1\r\n\r\n--Xy\r\n2,0\r\n".utf8)
        let body = DatasetUploadTests.form([("name", nil, Array("moons".utf8)), ("file", "d.csv", file)])
        let whole = try Self.scan(body, boundary: "XyZ123", cuts: [])
        #expect(whole == ["name|-|moons", "file|d.csv|" + String(decoding: file, as: UTF8.self)])
        for cut in 0...body.count {
            #expect(try Self.scan(body, boundary: "XyZ123", cuts: [cut]) == whole, "cut at \(cut)")
        }
        #expect(try Self.scan(body, boundary: "XyZ123", cuts: Array(0...body.count)) == whole, "one byte at a time")
    }

    @Test func aBodyCutShortOrWithoutTheBoundaryIsMalformed() throws {
        let body = DatasetUploadTests.form([("file", "d.csv", Array("1,0\n".utf8))])
        #expect(throws: MultipartForm.Malformed.self) {
            try Self.scan(Array(body.dropLast(10)), boundary: "XyZ123", cuts: [3])
        }
        #expect(throws: MultipartForm.Malformed.self) {
            try Self.scan(Array("1,0\n".utf8), boundary: "XyZ123", cuts: [])
        }
    }
}
