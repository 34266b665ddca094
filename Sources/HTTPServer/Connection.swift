/// One accepted socket and what the event loop keeps for it. Confined to the loop thread.
final class Connection {
    let id: UInt64
    let fd: Int32
    let remoteAddress: String
    /// The peer's address without its port: the unit of per-client limits.
    let client: String
    var machine: HTTPConnectionStateMachine
    /// Refused at accept (too many connections): only a canned 503 is written.
    let isRejected: Bool

    /// Bytes owed to the client; `outboundOffset` of them are already sent.
    var outbound: [UInt8] = []
    var outboundOffset = 0
    var lastWriteProgress: UInt64

    /// The protocol asked to close once `outbound` is flushed.
    var closeRequested = false
    /// The client sent EOF; nothing more will be read.
    var inputClosed = false
    /// Set after our FIN: input is read and discarded until EOF or this moment, so that the
    /// client reads our last response instead of a reset caused by its unread bytes.
    var lingerDeadline: UInt64?
    var registeredEvents: UInt32
    var isDestroyed = false

    init(
        id: UInt64, fd: Int32, remoteAddress: String, client: String, machine: HTTPConnectionStateMachine,
        isRejected: Bool, registeredEvents: UInt32, now: UInt64
    ) {
        self.id = id
        self.fd = fd
        self.remoteAddress = remoteAddress
        self.client = client
        self.machine = machine
        self.isRejected = isRejected
        self.registeredEvents = registeredEvents
        self.lastWriteProgress = now
    }

    var pendingOutboundBytes: Int { outbound.count - outboundOffset }
    var isLingering: Bool { lingerDeadline != nil }

    /// The epoll interest this connection needs now.
    var desiredEvents: UInt32 {
        var events: UInt32 = 0
        if isLingering || (!closeRequested && !inputClosed && machine.wantsRead) { events |= Epoll.readable }
        if pendingOutboundBytes > 0 { events |= Epoll.writable }
        return events
    }

    func enqueue(_ bytes: [UInt8]) {
        if outboundOffset == outbound.count {
            outbound.removeAll(keepingCapacity: outbound.capacity <= 1 << 20)
            outboundOffset = 0
        } else if outboundOffset > 1 << 16, outboundOffset > outbound.count / 2 {
            outbound.removeSubrange(0..<outboundOffset)
            outboundOffset = 0
        }
        outbound.append(contentsOf: bytes)
    }
}
