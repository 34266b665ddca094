import Glibc

/// An epoll instance plus the pipe other threads write to to wake it.
///
/// Glibc's Swift module map leaves out `<sys/epoll.h>`, and a C shim target would mean editing
/// Package.swift, so the three epoll calls are looked up with `dlsym` and called through
/// `@convention(c)` pointers: the C calling convention, checked once at start-up.
final class Epoll {
    let fd: Int32
    private let wakeRead: Int32
    let wakeWrite: Int32

    static let readable: UInt32 = 0x001  // EPOLLIN
    static let writable: UInt32 = 0x004  // EPOLLOUT
    static let failed: UInt32 = 0x008 | 0x010  // EPOLLERR | EPOLLHUP
    static let wakeToken: UInt64 = .max

    init() throws(SystemError) {
        let functions = try EpollFunctions.shared()
        fd = try syscallValue(where: "epoll_create1") { functions.create(0o2_000_000) }  // EPOLL_CLOEXEC
        var ends: [Int32] = [0, 0]
        do {
            try syscallValue(where: "pipe") { pipe(&ends) }
        } catch {
            closeDescriptor(fd)
            throw error
        }
        wakeRead = ends[0]
        wakeWrite = ends[1]
        for end in ends {
            _ = fcntl(end, F_SETFL, fcntl(end, F_GETFL) | O_NONBLOCK)
            _ = fcntl(end, F_SETFD, FD_CLOEXEC)
        }
        try add(wakeRead, events: Self.readable, token: Self.wakeToken)
    }

    /// Registers `descriptor` with level-triggered `events`, reported with `token`.
    func add(_ descriptor: Int32, events: UInt32, token: UInt64) throws(SystemError) {
        try control(1, descriptor, events: events, token: token)  // EPOLL_CTL_ADD
    }

    func modify(_ descriptor: Int32, events: UInt32, token: UInt64) throws(SystemError) {
        try control(3, descriptor, events: events, token: token)  // EPOLL_CTL_MOD
    }

    func remove(_ descriptor: Int32) {
        _ = try? control(2, descriptor, events: 0, token: 0)  // EPOLL_CTL_DEL
    }

    private func control(_ operation: Int32, _ descriptor: Int32, events: UInt32, token: UInt64) throws(SystemError) {
        var event = [UInt8](repeating: 0, count: EpollEvent.stride)
        event.withUnsafeMutableBytes { EpollEvent.store(events: events, token: token, at: 0, in: $0) }
        let functions = EpollFunctions.loaded
        try syscallValue(where: "epoll_ctl") {
            event.withUnsafeMutableBytes { functions.control(fd, operation, descriptor, $0.baseAddress!) }
        }
    }

    /// Waits up to `timeoutMilliseconds`; fills `events` and returns how many arrived.
    func wait(_ events: inout EpollEvent.Buffer, timeoutMilliseconds: Int32) throws(SystemError) -> Int {
        let functions = EpollFunctions.loaded
        let capacity = events.capacity
        return Int(
            try syscallValue(where: "epoll_wait") {
                events.bytes.withUnsafeMutableBytes {
                    functions.wait(fd, $0.baseAddress!, Int32(capacity), timeoutMilliseconds)
                }
            })
    }

    /// Makes a concurrent or future `wait` return. A full pipe already means "wake up".
    static func wake(_ wakeWrite: Int32) {
        var one: UInt8 = 1
        _ = Glibc.write(wakeWrite, &one, 1)
    }

    /// Empties the wake pipe after a wake-up.
    func drainWake() {
        var sink = [UInt8](repeating: 0, count: 256)
        while Glibc.read(wakeRead, &sink, sink.count) > 0 {}
    }

    deinit {
        closeDescriptor(wakeRead)
        closeDescriptor(wakeWrite)
        closeDescriptor(fd)
    }
}

/// `struct epoll_event` as raw bytes: packed (12 bytes) on x86_64, 16 bytes elsewhere.
enum EpollEvent {
    #if arch(x86_64)
    static let stride = 12
    static let dataOffset = 4
    #else
    static let stride = 16
    static let dataOffset = 8
    #endif

    static func store(events: UInt32, token: UInt64, at index: Int, in bytes: UnsafeMutableRawBufferPointer) {
        bytes.storeBytes(of: events, toByteOffset: index * stride, as: UInt32.self)
        bytes.storeBytes(of: token, toByteOffset: index * stride + dataOffset, as: UInt64.self)
    }

    /// Room for `capacity` events from one `epoll_wait`.
    struct Buffer {
        var bytes: [UInt8]
        let capacity: Int
        init(capacity: Int) {
            self.capacity = capacity
            bytes = [UInt8](repeating: 0, count: capacity * EpollEvent.stride)
        }
        func event(_ index: Int) -> (events: UInt32, token: UInt64) {
            bytes.withUnsafeBytes {
                (
                    $0.loadUnaligned(fromByteOffset: index * EpollEvent.stride, as: UInt32.self),
                    $0.loadUnaligned(fromByteOffset: index * EpollEvent.stride + EpollEvent.dataOffset, as: UInt64.self)
                )
            }
        }
    }
}

/// The epoll entry points of the C library, resolved once.
struct EpollFunctions: @unchecked Sendable {  // plain C function pointers, immutable
    let create: @convention(c) (Int32) -> Int32
    let control: @convention(c) (Int32, Int32, Int32, UnsafeMutableRawPointer) -> Int32
    let wait: @convention(c) (Int32, UnsafeMutableRawPointer, Int32, Int32) -> Int32

    private static let resolved: EpollFunctions? = {
        let library = dlopen(nil, RTLD_NOW)
        guard let create = dlsym(library, "epoll_create1"), let control = dlsym(library, "epoll_ctl"),
            let wait = dlsym(library, "epoll_wait")
        else { return nil }
        return EpollFunctions(
            create: unsafeBitCast(create, to: (@convention(c) (Int32) -> Int32).self),
            control: unsafeBitCast(
                control, to: (@convention(c) (Int32, Int32, Int32, UnsafeMutableRawPointer) -> Int32).self),
            wait: unsafeBitCast(wait, to: (@convention(c) (Int32, UnsafeMutableRawPointer, Int32, Int32) -> Int32).self)
        )
    }()

    static func shared() throws(SystemError) -> EpollFunctions {
        guard let resolved else { throw SystemError(call: "dlsym(epoll_*)", errno: ENOSYS) }
        return resolved
    }

    /// Only used after `shared()` succeeded (an `Epoll` exists).
    static var loaded: EpollFunctions { resolved! }
}
