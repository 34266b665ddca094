import RewindTestSupport
import Testing

@testable import JSON

@Suite("Decimal number conversion")
struct DecimalNumberTests {
    func parse(_ text: String) -> Double? {
        Array(text.utf8).withUnsafeBufferPointer { DecimalNumber.parse($0) }
    }

    @Test func agreesWithTheStandardLibraryOnRandomDecimals() {
        var generator = SeededGenerator(seed: 99)
        for _ in 0..<20_000 {
            let digits = Int(generator.next() % 18) + 1
            var text = String(generator.next() % 1_000_000_000_000_000_000).prefix(digits)
            let point = Int(generator.next() % UInt64(text.count + 1))
            text.insert(".", at: text.index(text.startIndex, offsetBy: point))
            if text.hasSuffix(".") { text += "0" }
            if text.hasPrefix(".") { text = "0" + text }
            let exponent = Int(generator.next() % 60) - 30
            let full = "\(text)e\(exponent)"
            #expect(parse(full)?.bitPattern == Double(full)?.bitPattern, "\(full)")
        }
    }

    @Test func acceptsTheLenientCSVForms() {
        #expect(parse("+1.5") == 1.5)
        #expect(parse(".5") == 0.5)
        #expect(parse("5.") == 5)
        #expect(parse("007") == 7)
        #expect(parse("-0")?.sign == .minus)
    }

    @Test(arguments: ["", "-", ".", "e5", "1e", "1e+", "nan", "inf", "0x10", "1.2.3", "1 ", " 1", "1,5"])
    func rejectsWhatIsNotADecimal(text: String) {
        #expect(parse(text) == nil)
    }

    @Test func overflowsToInfinityAndUnderflowsToZero() {
        #expect(parse("1e400") == .infinity)
        #expect(parse("-1e400") == -.infinity)
        #expect(parse("1e-400") == 0)
    }
}
