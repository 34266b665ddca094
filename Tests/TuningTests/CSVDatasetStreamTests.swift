import RewindTestSupport
import Testing

@testable import Tuning

/// A CSV fed in pieces of any size parses to the same data set, and fails at the same line and
/// column, as the whole body at once; chunks put back together are the data set.
@Suite("CSV data set stream")
struct CSVDatasetStreamTests {
    static let inputs = [
        "\u{FEFF}x1,x2,label\r\n0.5, -1e-3 ,1\r\n\"2\",3.25,0\r\n1,1,2\r\n\r\n\n",
        "1,0\n2,5",
        (0..<500).map { "\($0 % 10),\(($0 * 7) % 10),\($0 % 3)\n" }.joined(),
    ]

    /// Feeds `text` in pieces cut at seeded random places; the data set and its label counts.
    static func streamed(
        _ text: String, seed: UInt64, chunkBytes: Int = 64
    ) throws(DatasetParseError) -> (Dataset, [Int]) {
        let bytes = Array(text.utf8)
        var generator = SeededGenerator(seed: seed)
        var stream = CSVDatasetStream(chunkBytes: chunkBytes)
        var chunks: [[UInt8]] = []
        var offset = 0
        while offset < bytes.count {
            let end = min(bytes.count, offset + 1 + Int(generator.next() % 7))
            try bytes[offset..<end].withUnsafeBufferPointer { piece throws(DatasetParseError) in try stream.feed(piece)
            }
            while let chunk = stream.takeChunk() { chunks.append(chunk) }
            offset = end
        }
        let info = try stream.finish()
        while let chunk = stream.takeChunk() { chunks.append(chunk) }
        var assembler = DatasetAssembler(name: "d", rows: info.rows, features: info.features, classes: info.classes)
        for chunk in chunks { try! assembler.append(chunk: chunk) }
        #expect(stream.encodedBytes == chunks.reduce(0) { $0 + $1.count })
        return (try! assembler.dataset(), stream.labelCounts)
    }

    @Test(arguments: inputs)
    func piecesOfAnySizeGiveTheWholeParse(text: String) throws {
        let whole = try CSVDatasetParser.parse(Array(text.utf8), name: "d")
        for seed in 0..<5 as Range<UInt64> {
            let (dataset, counts) = try Self.streamed(text, seed: seed)
            #expect(dataset.inputs == whole.inputs && dataset.labels == whole.labels)
            #expect(dataset.features == whole.features && dataset.classes == whole.classes)
            #expect(counts == whole.labelCounts)
        }
    }

    @Test(arguments: [
        "1,2,0\n3,4\n", "1,2,0\n3,abc,1\n", "1,2,0\n\n3,4,1\n", "a,b\n", "", "1\n2\n", "1,2,0\n3,4,0\n",
        "h1,h2,h3\n1,2\n",
        "1,2,0\n3,1e999,1\n",
    ])
    func piecesOfAnySizeFailAtTheSameLineAndColumn(text: String) {
        var expected: DatasetParseError?
        do { _ = try CSVDatasetParser.parse(Array(text.utf8)) } catch { expected = error }
        for seed in 0..<5 as Range<UInt64> {
            var got: DatasetParseError?
            do { _ = try Self.streamed(text, seed: seed) } catch { got = error }
            #expect(got != nil && got == expected)
        }
    }

    /// Firsttry's header rules hold for streamed uploads: a plausible header is kept (even cut
    /// into pieces), a broken first row is not dropped as one, and the profile built row by row
    /// matches the whole-buffer parse's.
    @Test func headerAndProfileWhenStreamed() throws {
        let text = "\u{FEFF}width, \"height\" ,class\n1,2,0\n3,4,1\n5,6,1\n"
        let bytes = Array(text.utf8)
        var stream = CSVDatasetStream(chunkBytes: 64)
        var profile = DatasetProfile()
        for offset in stride(from: 0, to: bytes.count, by: 2) {
            try bytes[offset..<min(bytes.count, offset + 2)].withUnsafeBufferPointer {
                piece throws(DatasetParseError) in
                try stream.feed(piece) { values, label in profile.add(features: values, label: label) }
            }
        }
        _ = try stream.finish { values, label in profile.add(features: values, label: label) }
        profile.header = stream.header
        #expect(stream.header == ["width", "height", "class"])
        #expect(profile == (try CSVDatasetParser.parseProfiled(bytes)).profile)

        var broken = CSVDatasetStream()
        let error = #expect(throws: DatasetParseError.self) {
            try Array("1,2x,0\n3,4,1\n".utf8).withUnsafeBufferPointer { body throws(DatasetParseError) in
                try broken.feed(body)
            }
            _ = try broken.finish()
        }
        #expect(error?.message.contains("neither all numbers nor a header") == true)
    }
}
