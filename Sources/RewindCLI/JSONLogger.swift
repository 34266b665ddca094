import Foundation
import JSON
import Synchronization

/// Structured logs: one JSON object per line on stderr (`ts`, `level`, `msg`, then fields).
final class JSONLogger: Sendable {
    private let lock = Mutex(())
    let minimumLevel: Level

    enum Level: String, Comparable, Sendable {
        case debug, info, warning, error

        private var rank: Int {
            switch self {
            case .debug: 0
            case .info: 1
            case .warning: 2
            case .error: 3
            }
        }

        static func < (a: Level, b: Level) -> Bool { a.rank < b.rank }
    }

    init(minimumLevel: Level = .info) {
        self.minimumLevel = minimumLevel
    }

    func log(_ level: Level, _ message: String, _ fields: [String: String] = [:]) {
        guard level >= minimumLevel else { return }
        var object = JSONObject()
        object["ts"] = .string(
            ISO8601DateFormatter.string(
                from: Date(), timeZone: TimeZone(identifier: "UTC")!,
                formatOptions: [.withInternetDateTime, .withFractionalSeconds]))
        object["level"] = .string(level.rawValue)
        object["msg"] = .string(message)
        for key in fields.keys.sorted() { object[key] = .string(fields[key]!) }
        let line = JSONValue.object(object).serialized() + [UInt8(ascii: "\n")]
        lock.withLock { _ in FileHandle.standardError.write(Data(line)) }
    }

    /// The sink for the lower layers' `(message, fields)` logs, at info level (errors marked by their message).
    var sink: @Sendable (String, [String: String]) -> Void {
        { [self] message, fields in
            let level: Level = fields["error"] != nil ? .warning : .info
            self.log(level, message, fields)
        }
    }
}
