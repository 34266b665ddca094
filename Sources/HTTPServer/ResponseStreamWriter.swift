import Foundation
import Synchronization

/// The producer side of a streamed response body, safe to keep and feed from any thread.
///
/// A handler creates one, returns `HTTPResponse(stream:)` (or `.eventStream`) and hands the
/// writer to whatever produces the events. Writes made before the server has sent the head are
/// buffered. Once the client is gone (or the server stops) writes return false and the `onClose`
/// callbacks run, so a producer can stop instead of computing for nobody.
public final class ResponseStreamWriter: Sendable {
    /// Why the stream ended.
    public enum CloseReason: Sendable, Hashable {
        /// The producer called `finish()`.
        case finished
        /// The connection closed or failed before the producer finished.
        case clientDisconnected
        /// The server is stopping; the stream was ended cleanly so the client may reconnect.
        case serverStopping
        /// The body was never going to be sent (a HEAD request, or an error before the head).
        case notSent
    }

    /// Where an attached stream's bytes go: closures that hop onto the event loop.
    struct Sink: Sendable {
        var send: @Sendable ([UInt8]) -> Void
        var finish: @Sendable () -> Void
    }

    private enum Phase {
        case pending(chunks: [[UInt8]], finished: Bool)
        case attached(Sink)
        case closed(CloseReason)
    }

    private struct State {
        var phase: Phase = .pending(chunks: [], finished: false)
        var callbacks: [@Sendable (CloseReason) -> Void] = []

        mutating func takeCallbacks() -> [@Sendable (CloseReason) -> Void] {
            defer { callbacks = [] }
            return callbacks
        }
    }

    private let state = Mutex(State())
    /// Back-pressure (`write(_:waitingWhileBacklogExceeds:)`): bytes handed to the connection not
    /// yet queued for its socket, and the bytes its socket still owes; guarded by `flow`.
    private let flow = NSCondition()
    private nonisolated(unsafe) var handed = 0
    private nonisolated(unsafe) var socketPending = 0

    public init() {}

    /// Sends `bytes` once the connection owes its client at most `limit` bytes, waiting while it
    /// owes more (a client reading slowly holds the producer, not the server's memory); false
    /// once the stream is closed.
    @discardableResult
    public func write(_ bytes: [UInt8], waitingWhileBacklogExceeds limit: Int) -> Bool {
        flow.lock()
        while handed + socketPending > limit, !isClosed {
            _ = flow.wait(until: Date(timeIntervalSinceNow: 1))
        }
        flow.unlock()
        return write(bytes)
    }

    /// The loop queued `count` handed bytes for the socket, which now owes `pending` bytes.
    func noteQueued(_ count: Int, pending: Int) {
        flow.withLock {
            handed -= count
            socketPending = pending
            flow.broadcast()
        }
    }

    /// The socket now owes `pending` bytes.
    func notePending(_ pending: Int) {
        flow.withLock {
            socketPending = pending
            flow.broadcast()
        }
    }

    /// Sends `bytes` as the next piece of the body; false once the stream is closed.
    @discardableResult
    public func write(_ bytes: [UInt8]) -> Bool {
        if !bytes.isEmpty { flow.withLock { handed += bytes.count } }
        return state.withLock { state in
            switch state.phase {
            case .pending(var chunks, let finished):
                guard !finished else { return false }
                if !bytes.isEmpty { chunks.append(bytes) }
                state.phase = .pending(chunks: chunks, finished: false)
                return true
            case .attached(let sink):
                // Sent under the lock so that writes from several threads keep one order.
                if !bytes.isEmpty { sink.send(bytes) }
                return true
            case .closed:
                return false
            }
        }
    }

    /// Sends `text` UTF-8 encoded; false once the stream is closed.
    @discardableResult
    public func write(_ text: String) -> Bool { write(Array(text.utf8)) }

    /// Ends the body normally. Later writes return false.
    public func finish() {
        let callbacks: [@Sendable (CloseReason) -> Void] = state.withLock { state in
            switch state.phase {
            case .pending(let chunks, _):
                state.phase = .pending(chunks: chunks, finished: true)
                return []
            case .attached(let sink):
                sink.finish()
                state.phase = .closed(.finished)
                return state.takeCallbacks()
            case .closed:
                return []
            }
        }
        callbacks.forEach { $0(.finished) }
    }

    /// True once the stream ended for any reason.
    public var isClosed: Bool { closeReason != nil }

    /// Why the stream ended, nil while it is open (or finished but not yet sent).
    public var closeReason: CloseReason? {
        state.withLock { state in
            if case .closed(let reason) = state.phase { return reason }
            return nil
        }
    }

    /// Registers `callback` to run once when the stream ends; at once if it already has.
    /// It runs on whichever thread ends the stream, so it must not block.
    public func onClose(_ callback: @escaping @Sendable (CloseReason) -> Void) {
        let reason: CloseReason? = state.withLock { state in
            if case .closed(let reason) = state.phase { return reason }
            state.callbacks.append(callback)
            return nil
        }
        if let reason { callback(reason) }
    }

    // MARK: - Server side

    /// Connects the writer to the connection; returns what was written before, and whether the
    /// producer already finished (the stream is then closed as `.finished`).
    func attach(_ sink: Sink) -> (chunks: [[UInt8]], finished: Bool) {
        let (result, callbacks): ((chunks: [[UInt8]], finished: Bool), [@Sendable (CloseReason) -> Void]) =
            state.withLock { state in
                switch state.phase {
                case .pending(let chunks, let finished):
                    if finished {
                        state.phase = .closed(.finished)
                        return ((chunks, true), state.takeCallbacks())
                    }
                    state.phase = .attached(sink)
                    return ((chunks, false), [])
                case .attached, .closed:
                    return (([], true), [])
                }
            }
        callbacks.forEach { $0(.finished) }
        return result
    }

    /// Ends the stream from the server's side, telling the producer why.
    func terminate(_ reason: CloseReason) {
        let callbacks: [@Sendable (CloseReason) -> Void] = state.withLock { state in
            if case .closed = state.phase { return [] }
            state.phase = .closed(reason)
            return state.takeCallbacks()
        }
        flow.withLock { flow.broadcast() }
        callbacks.forEach { $0(reason) }
    }
}
