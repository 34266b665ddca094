import Glibc

/// A system call failed for a reason outside the program: it carries the call's name and errno.
public struct SystemError: Error, Sendable, Hashable, CustomStringConvertible {
    public var call: String
    public var errno: Int32

    public init(call: String, errno: Int32) {
        self.call = call
        self.errno = errno
    }

    public var description: String {
        "\(call) failed: \(String(cString: strerror(errno))) (errno \(errno))"
    }
}

/// The outcome of a call on a non-blocking descriptor: done, or "try again when ready".
enum IOResult<T: Sendable>: Sendable {
    case processed(T)
    case wouldBlock
}

/// Runs a system call the one way this module does: retries `EINTR`; with `blocking: true`
/// (a call that would block on a non-blocking descriptor) returns `EAGAIN` as `.wouldBlock`;
/// crashes on `EBADF`/`EFAULT`, which mean a bug here (a closed or foreign descriptor, a bad
/// pointer); throws `SystemError` for everything else.
@inline(__always)
func syscall<T: FixedWidthInteger & Sendable>(
    blocking: Bool, where call: StaticString, _ body: () -> T
) throws(SystemError) -> IOResult<T> {
    while true {
        let result = body()
        guard result == -1 else { return .processed(result) }
        let code = errno
        switch code {
        case EINTR:
            continue
        case EAGAIN where blocking, EWOULDBLOCK where blocking:
            return .wouldBlock
        case EBADF, EFAULT:
            preconditionFailure("\(call) failed with errno \(code): a descriptor or pointer bug")
        default:
            throw SystemError(call: "\(call)", errno: code)
        }
    }
}

/// Like `syscall(blocking: false, ...)` for calls that cannot return `EAGAIN`.
@inline(__always)
@discardableResult
func syscallValue<T: FixedWidthInteger & Sendable>(where call: StaticString, _ body: () -> T) throws(SystemError) -> T {
    switch try syscall(blocking: false, where: call, body) {
    case .processed(let value): return value
    case .wouldBlock: preconditionFailure("\(call) reported EAGAIN without blocking: true")
    }
}

/// Closes a descriptor exactly once. `EINTR` is not retried: Linux has already released the
/// descriptor, and a retry could close one that another thread just received.
func closeDescriptor(_ fd: Int32) {
    if close(fd) == -1, errno == EBADF {
        preconditionFailure("close(\(fd)) failed with EBADF: descriptor closed twice")
    }
}
