import Foundation
import Tuning

/// Line-oriented output: stdout carries data (JSON lines), stderr people-facing messages.
enum Console {
    static func output(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }

    static func error(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }

    static func progress(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }

    static let stderrIsTerminal = isatty(STDERR_FILENO) != 0
}

/// A progress bar on stderr, redrawn in place on a terminal and printed as occasional lines otherwise.
struct ProgressLine {
    let enabled: Bool
    let total: Int
    private var lastShown = -1

    init(enabled: Bool, total: Int) {
        self.enabled = enabled
        self.total = total
    }

    mutating func update(item: Int, fraction: Double) {
        guard enabled else { return }
        let percent = Int(fraction * 1000)
        let step = Console.stderrIsTerminal ? 1 : 100
        guard percent / step != lastShown / step else { return }
        lastShown = percent
        let width = 30
        let filled = min(width, Int(fraction * Double(width)))
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        let text = "item \(item) (of 0-\(total - 1)) [\(bar)] \(String(format: "%5.1f", fraction * 100))%"
        Console.progress(Console.stderrIsTerminal ? "\r\(text)" : text + "\n")
    }

    func finished(_ item: HistoryItem) {
        guard enabled else { return }
        var summary = String(
            format: "item %d (of 0-%d): training loss %.4f, validation loss %.4f, validation error %.3f",
            item.metaIteration, total - 1, item.trainingLoss, item.validationLoss, item.validationError)
        if let testLoss = item.testLoss, let testError = item.testError {
            summary += String(format: ", test loss %.4f, test error %.3f", testLoss, testError)
        }
        if item.step == .rejected { summary += " [step rejected: \(item.stepReason ?? "")]" }
        summary += String(format: " (%.2f s)", item.seconds)
        Console.progress(Console.stderrIsTerminal ? "\r\u{1B}[K\(summary)\n" : summary + "\n")
    }

    func clear() {
        if enabled && Console.stderrIsTerminal { Console.progress("\r\u{1B}[K") }
    }
}
