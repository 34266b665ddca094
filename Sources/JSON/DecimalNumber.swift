/// Decimal text to `Double`, correctly rounded, straight from bytes.
///
/// Shared by the JSON parser and the CSV dataset parser, where numbers dominate the input. Short
/// decimals take Clinger's fast path: a mantissa below 2^53 and a power of ten up to 10^22 are both
/// exact doubles, so one IEEE multiply or divide rounds correctly. Everything else goes to the
/// standard library's correctly rounded conversion.
public enum DecimalNumber {
    /// Parses `[+-]? digits? ('.' digits?)? ([eE] [+-]? digits)?` with at least one mantissa digit.
    /// Returns nil for anything else (including "nan" and "inf"); ±infinity when the value overflows.
    public static func parse(_ text: UnsafeBufferPointer<UInt8>) -> Double? {
        var index = 0
        let count = text.count
        var negative = false
        if index < count, text[index] == UInt8(ascii: "-") || text[index] == UInt8(ascii: "+") {
            negative = text[index] == UInt8(ascii: "-")
            index += 1
        }
        var mantissa: UInt64 = 0
        var significantDigits = 0
        var digitsSeen = 0
        var exponent = 0
        var exact = true
        while index < count, let digit = digitValue(text[index]) {
            accumulate(digit, into: &mantissa, significant: &significantDigits, exact: &exact)
            digitsSeen += 1
            index += 1
        }
        if index < count, text[index] == UInt8(ascii: ".") {
            index += 1
            while index < count, let digit = digitValue(text[index]) {
                accumulate(digit, into: &mantissa, significant: &significantDigits, exact: &exact)
                if exact { exponent -= 1 }
                digitsSeen += 1
                index += 1
            }
        }
        guard digitsSeen > 0 else { return nil }
        if index < count, text[index] == UInt8(ascii: "e") || text[index] == UInt8(ascii: "E") {
            index += 1
            var exponentNegative = false
            if index < count, text[index] == UInt8(ascii: "-") || text[index] == UInt8(ascii: "+") {
                exponentNegative = text[index] == UInt8(ascii: "-")
                index += 1
            }
            var written = 0
            var exponentDigits = 0
            while index < count, let digit = digitValue(text[index]) {
                if written < 100_000 { written = written * 10 + Int(digit) }
                exponentDigits += 1
                index += 1
            }
            guard exponentDigits > 0 else { return nil }
            exponent += exponentNegative ? -written : written
        }
        guard index == count else { return nil }

        if exact, mantissa <= 1 << 53, (-22...22).contains(exponent) {
            var value = Double(mantissa)
            if exponent < 0 { value /= powersOfTen[-exponent] } else { value *= powersOfTen[exponent] }
            return negative ? -value : value
        }
        if exact, mantissa == 0 { return negative ? -0.0 : 0.0 }
        // The slow path: the standard library's correctly rounded strtod on a (small) String.
        return Double(String(decoding: text, as: UTF8.self))
    }

    @inline(__always)
    private static func digitValue(_ byte: UInt8) -> UInt64? {
        let value = byte &- UInt8(ascii: "0")
        return value < 10 ? UInt64(value) : nil
    }

    /// Adds a digit while the mantissa stays exact (15 significant digits); beyond that the value
    /// needs the slow path, and only the decimal exponent keeps counting.
    @inline(__always)
    private static func accumulate(
        _ digit: UInt64, into mantissa: inout UInt64, significant: inout Int, exact: inout Bool
    ) {
        guard exact else { return }
        if significant >= 15 {
            exact = false
            return
        }
        mantissa = mantissa * 10 + digit
        if mantissa != 0 { significant += 1 }
    }

    private static let powersOfTen: [Double] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
        1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
    ]
}
