import HTTPClient
import Testing

@testable import RewindBench

@Suite struct LatencyHistogramTests {
    @Test func bucketsAreContiguousAndEachHoldsItsOwnRange() {
        var expectedLower: UInt64 = 0
        for index in 0..<LatencyHistogram.bucketCount {
            let range = LatencyHistogram.bucketRange(index)
            #expect(range.lowerBound == expectedLower)
            #expect(LatencyHistogram.bucketIndex(range.lowerBound) == index)
            #expect(LatencyHistogram.bucketIndex(range.upperBound) == index)
            expectedLower = range.upperBound + 1
        }
        #expect(expectedLower == 1 << 34)
    }

    @Test func everyBucketIsWithinOnePercentOfItsValues() {
        for index in 0..<LatencyHistogram.bucketCount {
            let range = LatencyHistogram.bucketRange(index)
            let width = Double(range.upperBound - range.lowerBound)
            #expect(width <= Double(max(range.lowerBound, 1)) * 0.01)
        }
    }

    @Test func valuesBeyondTheRangeLandInTheLastBucketButMaxStaysExact() {
        var h = LatencyHistogram()
        h.record(nanoseconds: 100_000_000_000)
        #expect(LatencyHistogram.bucketIndex(.max) == LatencyHistogram.bucketCount - 1)
        #expect(h.maxNanoseconds == 100_000_000_000)
        #expect(h.value(atQuantile: 1) == 100_000_000_000)
    }

    @Test func quantilesOfAUniformSampleAreWithinOnePercent() {
        var h = LatencyHistogram()
        for micro in 1...10_000 { h.record(nanoseconds: UInt64(micro) * 1000) }  // 1 µs ... 10 ms
        for (q, exact) in [(0.5, 5_000_000.0), (0.9, 9_000_000.0), (0.99, 9_900_000.0)] {
            let v = Double(h.value(atQuantile: q)!)
            #expect(v >= exact && v <= exact * 1.01, "q\(q): \(v)")
        }
        #expect((1000...1010).contains(h.value(atQuantile: 0)!))
        #expect(h.value(atQuantile: 1) == 10_000_000)
        #expect(h.meanNanoseconds == 5_000_500)
    }

    @Test func mergingEqualsRecordingEverythingInOne() {
        var a = LatencyHistogram(), b = LatencyHistogram(), all = LatencyHistogram()
        for v: UInt64 in [5, 900, 123_456, 7_000_000] { a.record(nanoseconds: v); all.record(nanoseconds: v) }
        for v: UInt64 in [64, 2_000_000_000, 333] { b.record(nanoseconds: v); all.record(nanoseconds: v) }
        a.merge(b)
        #expect(a == all)
        #expect(a.count == 7 && a.minNanoseconds == 5 && a.maxNanoseconds == 2_000_000_000)
    }

    @Test func anEmptyHistogramHasNoQuantiles() {
        #expect(LatencyHistogram().value(atQuantile: 0.5) == nil)
        #expect(LatencyHistogram().meanNanoseconds == nil)
    }
}

@Suite struct HTTPResponseFramerTests {
    func frames(_ text: String, splitEvery step: Int = .max) -> [HTTPResponseFramer.Event] {
        var framer = HTTPResponseFramer()
        var events: [HTTPResponseFramer.Event] = []
        let bytes = Array(text.utf8)
        var offset = 0
        repeat {
            let end = min(bytes.count, offset + (step == .max ? bytes.count : step))
            framer.append(Array(bytes[offset..<end]))
            offset = end
            while true {
                let event = framer.next()
                if event == .needMoreBytes { break }
                events.append(event)
                if case .malformed = event { return events }
            }
        } while offset < bytes.count
        return events
    }

    let twoResponses =
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello"
        + "HTTP/1.1 404 Not Found\r\ncontent-length:2\r\nConnection: close\r\n\r\nno"

    @Test func pipelinedResponsesAreSplitByContentLength() {
        #expect(
            frames(twoResponses) == [
                .response(.init(status: 200, keepAlive: true, body: Array("hello".utf8))),
                .response(.init(status: 404, keepAlive: false, body: Array("no".utf8))),
            ])
    }

    @Test func responsesArrivingOneByteAtATimeFrameTheSame() {
        #expect(frames(twoResponses, splitEvery: 1) == frames(twoResponses))
        #expect(frames(twoResponses, splitEvery: 7) == frames(twoResponses))
    }

    @Test func http10ClosesUnlessKeepAliveIsAsked() {
        #expect(
            frames("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n") == [
                .response(.init(status: 200, keepAlive: false, body: []))
            ])
        #expect(
            frames("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n")
                == [.response(.init(status: 200, keepAlive: true, body: []))])
    }

    @Test func noContentNeedsNoLength() {
        #expect(frames("HTTP/1.1 204 No Content\r\n\r\n") == [.response(.init(status: 204, keepAlive: true, body: []))])
    }

    @Test func unframeableResponsesAreMalformed() {
        for text in [
            "HTTP/1.1 200 OK\r\n\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
            "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
            "HTTP/2 200 OK\r\nContent-Length: 0\r\n\r\n",
            "HTTP/1.1 2x0 OK\r\nContent-Length: 0\r\n\r\n",
            "HTTP/1.1 200 OK\r\nno colon\r\nContent-Length: 0\r\n\r\n",
        ] {
            guard case .malformed = frames(text).last else {
                Issue.record("accepted \(text.debugDescription)"); continue
            }
        }
    }

    @Test func anEndlessHeadIsRefusedInsteadOfBuffered() {
        let text = "HTTP/1.1 200 OK\r\nX: " + String(repeating: "a", count: HTTPResponseFramer.maximumHeadBytes)
        guard case .malformed = frames(text, splitEvery: 4096).last else { Issue.record("buffered forever"); return }
    }
}

@Suite struct LoopbackEndpointTests {
    @Test func onlyLoopbackAddressesAreAccepted() throws {
        #expect(try LoopbackEndpoint(host: "localhost", port: 8080).host == "127.0.0.1")
        #expect(try LoopbackEndpoint(url: "http://127.0.0.2:9/").port == 9)
        for url in [
            "http://10.0.0.1:80", "http://example.com:80", "https://127.0.0.1:1", "http://[::1]:80",
            "http://127.0.0.1:0", "http://127.0.0.1",
        ] {
            #expect(throws: LoopbackEndpoint.Refusal.self, "\(url)") { try LoopbackEndpoint(url: url) }
        }
    }
}

@Suite struct LoadGeneratorConfigurationTests {
    @Test func unsafeTargetsAndUnboundedRunsAreRefused() throws {
        let endpoint = try LoopbackEndpoint(host: "127.0.0.1", port: 1)
        var c = LoadGenerator.Configuration(endpoint: endpoint, paths: ["/ok"])
        #expect(throws: Never.self) { try LoadGenerator(c) }
        c.duration = .seconds(61)
        #expect(throws: LoadGenerator.InvalidConfiguration.self) { try LoadGenerator(c) }
        c.duration = .seconds(1)
        c.paths = ["/a b"]
        #expect(throws: LoadGenerator.InvalidConfiguration.self) { try LoadGenerator(c) }
        c.paths = ["/a\r\nX: y"]
        #expect(throws: LoadGenerator.InvalidConfiguration.self) { try LoadGenerator(c) }
        c.paths = []
        #expect(throws: LoadGenerator.InvalidConfiguration.self) { try LoadGenerator(c) }
    }
}
