import CZlib

/// One member of a ZIP archive as its local header describes it.
struct ZipMember {
    var name: String
    /// 0 stored, 8 deflate.
    var method: UInt16
    var crc: UInt32
    var compressedSize: Int
    var uncompressedSize: Int
}

/// Walks a ZIP archive front to back as its bytes arrive, from local header to local header
/// (what an archive written in one pass, as NumPy's are, holds), handing out each member's data
/// a block at a time: stored data as it comes, deflate data through zlib's streaming inflate.
/// Each member's size and CRC-32 are checked at its end; the central directory ends the walk.
///
/// A member must give its sizes in its local header: one that gives them only after its data (a
/// data descriptor, written when the archive went to a pipe) is refused, as the end of stored
/// data could not be found without them.
struct ZipStreamWalker {
    enum Event {
        case memberStarted(ZipMember)
        /// The member's uncompressed bytes, at most `blockBytes`; valid only during the call.
        case data(UnsafeRawBufferPointer)
        case memberEnded(ZipMember)
    }

    static let localSignature: UInt32 = 0x0403_4b50
    static let centralSignature: UInt32 = 0x0201_4b50
    static let endSignature: UInt32 = 0x0605_4b50
    /// Blocks of inflated data at most this long.
    static let blockBytes = 256 << 10

    private enum State {
        case header
        case stored(remaining: Int)
        case deflated(remaining: Int)
        case done
    }

    private var state = State.header
    /// A local header being gathered.
    private var pending: [UInt8] = []
    /// Bytes of the archive read so far.
    private var offset = 0
    private var membersSeen = 0
    private var member: ZipMember?
    private var crc = crc32(0, nil, 0)
    private var produced = 0
    private var inflater: Inflater?

    /// Reads `bytes`, reporting members and their data to `events`; rethrows what it throws.
    mutating func feed(_ bytes: UnsafeRawBufferPointer, _ events: (Event) throws -> Void) throws {
        var rest = bytes[...]
        while !rest.isEmpty {
            switch state {
            case .done:
                return
            case .header:
                let need = headerLength()
                let take = min(need - pending.count, rest.count)
                pending += rest.prefix(take)
                rest = rest.dropFirst(take)
                offset += take
                if pending.count == need { try headerGathered(events) }
            case .stored(let remaining):
                let take = min(remaining, rest.count)
                try hand(UnsafeRawBufferPointer(rebasing: rest.prefix(take)), events)
                rest = rest.dropFirst(take)
                offset += take
                state = .stored(remaining: remaining - take)
                if remaining == take { try endMember(events) }
            case .deflated(let remaining):
                let take = min(remaining, rest.count)
                let input = UnsafeRawBufferPointer(rebasing: rest.prefix(take))
                let name = member?.name ?? ""
                guard let inflater else { preconditionFailure("a deflated member has an inflater") }
                let ended = try inflater.inflate(input, name: name) { try hand($0, events) }
                rest = rest.dropFirst(take)
                offset += take
                state = .deflated(remaining: remaining - take)
                if ended, remaining > take {
                    throw NPZParseError("member \(name) has data after its compressed stream: the archive is corrupt")
                }
                if remaining == take {
                    guard ended else {
                        throw NPZParseError(
                            "member \(name) does not inflate: the compressed data is corrupt or truncated")
                    }
                    try endMember(events)
                }
            }
        }
    }

    /// Throws unless the walk reached the central directory.
    func finish() throws(NPZParseError) {
        switch state {
        case .done: return
        case .header where offset == 0: throw NPZParseError("the body is not a ZIP archive (.npz)")
        case .header where membersSeen == 0 && pending.count < 30:
            throw NPZParseError("the archive is truncated (a member's header)")
        case .header: throw NPZParseError("the archive is truncated (no central directory)")
        case .stored, .deflated:
            throw NPZParseError("the archive is truncated (member \(member?.name ?? "") ends early)")
        }
    }

    // MARK: - Local headers

    /// Bytes of the header being gathered known to be needed: its signature, its fixed part,
    /// then its name and extra field.
    private func headerLength() -> Int {
        guard pending.count >= 4, pending.uint32(at: 0) == Self.localSignature else { return 4 }
        guard pending.count >= 30 else { return 30 }
        return 30 + Int(pending.uint16(at: 26)) + Int(pending.uint16(at: 28))
    }

    private mutating func headerGathered(_ events: (Event) throws -> Void) throws {
        let signature = pending.uint32(at: 0)
        if signature == Self.centralSignature || signature == Self.endSignature {
            guard membersSeen > 0 else { throw NPZParseError("the archive is empty: it needs x and y") }
            state = .done
            return
        }
        guard signature == Self.localSignature else {
            throw NPZParseError(
                offset == 4
                    ? "the body is not a ZIP archive (.npz): send np.savez output"
                    : "the archive is corrupt at byte \(offset - 4)")
        }
        guard pending.count == headerLength() else { return }  // the name and extra field are next
        let parsed = try Self.member(pending)
        pending = []
        membersSeen += 1
        member = parsed
        crc = crc32(0, nil, 0)
        produced = 0
        try events(.memberStarted(parsed))
        if parsed.method == 8 {
            inflater = try Inflater(name: parsed.name)
            state = .deflated(remaining: parsed.compressedSize)
        } else {
            state = .stored(remaining: parsed.compressedSize)
        }
        if parsed.compressedSize == 0 {
            guard parsed.method == 0 else {
                throw NPZParseError(
                    "member \(parsed.name) does not inflate: the compressed data is corrupt or truncated")
            }
            try endMember(events)
        }
    }

    /// A member from its whole local header; refuses what it cannot read safely.
    private static func member(_ header: [UInt8]) throws(NPZParseError) -> ZipMember {
        let flags = header.uint16(at: 6)
        let method = header.uint16(at: 8)
        let crc = header.uint32(at: 14)
        var compressed = Int(header.uint32(at: 18))
        var uncompressed = Int(header.uint32(at: 22))
        let nameLength = Int(header.uint16(at: 26))
        let name = String(decoding: header[30..<(30 + nameLength)], as: UTF8.self)
        guard flags & 0x1 == 0 else { throw NPZParseError("member \(name) is encrypted") }
        guard flags & 0x8 == 0 else {
            throw NPZParseError(
                "member \(name) gives its sizes after its data (written to a stream): save the archive to a file or BytesIO"
            )
        }
        guard method == 0 || method == 8 else {
            throw NPZParseError("member \(name) uses compression method \(method): only stored and deflate are read")
        }
        // ZIP64: sizes of 0xFFFFFFFF are in the extra field 0x0001 (uncompressed first).
        if compressed == 0xFFFF_FFFF || uncompressed == 0xFFFF_FFFF {
            var extra = 30 + nameLength
            var found = false
            while extra + 4 <= header.count {
                let id = header.uint16(at: extra), size = Int(header.uint16(at: extra + 2))
                guard extra + 4 + size <= header.count else { break }
                if id == 0x0001 {
                    var field = extra + 4
                    if uncompressed == 0xFFFF_FFFF, field + 8 <= extra + 4 + size {
                        uncompressed = Int(clamping: header.uint64(at: field))
                        field += 8
                    }
                    if compressed == 0xFFFF_FFFF, field + 8 <= extra + 4 + size {
                        compressed = Int(clamping: header.uint64(at: field))
                    }
                    found = true
                }
                extra += 4 + size
            }
            guard found else { throw NPZParseError("member \(name) has ZIP64 sizes but no ZIP64 field") }
        }
        return ZipMember(
            name: name, method: method, crc: crc, compressedSize: compressed, uncompressedSize: uncompressed)
    }

    // MARK: - Data

    private mutating func hand(_ block: UnsafeRawBufferPointer, _ events: (Event) throws -> Void) throws {
        guard !block.isEmpty, let member else { return }
        crc = crc32(crc, block.baseAddress!.assumingMemoryBound(to: Bytef.self), uInt(block.count))
        produced += block.count
        guard produced <= member.uncompressedSize else {
            throw NPZParseError(
                "member \(member.name) holds more than its header's \(member.uncompressedSize) bytes: the archive is corrupt"
            )
        }
        try events(.data(block))
    }

    private mutating func endMember(_ events: (Event) throws -> Void) throws {
        guard let member else { return }
        inflater = nil
        guard produced == member.uncompressedSize else {
            throw NPZParseError(
                "member \(member.name) holds \(produced) bytes, its header says \(member.uncompressedSize): the archive is corrupt"
            )
        }
        guard UInt32(truncatingIfNeeded: crc) == member.crc else {
            throw NPZParseError("member \(member.name) fails its CRC-32 check: the archive is corrupt")
        }
        self.member = nil
        state = .header
        try events(.memberEnded(member))
    }
}

/// zlib's raw inflate over pieces of input, its output a block at a time. A class: zlib keeps a
/// pointer to its `z_stream`, which must therefore never move.
private final class Inflater {
    private let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
    private let output = UnsafeMutableRawBufferPointer.allocate(byteCount: ZipStreamWalker.blockBytes, alignment: 8)
    private var ended = false

    init(name: String) throws(NPZParseError) {
        stream.initialize(to: z_stream())
        guard inflateInit2_(stream, -15, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            stream.deallocate()
            output.deallocate()
            throw NPZParseError("cannot start inflating member \(name)")
        }
    }

    deinit {
        inflateEnd(stream)
        stream.deallocate()
        output.deallocate()
    }

    /// Inflates all of `input`, handing each block made to `hand`; true once the compressed
    /// stream has ended (input past its end is left unread, and makes this throw nothing).
    func inflate(
        _ input: UnsafeRawBufferPointer, name: String, _ hand: (UnsafeRawBufferPointer) throws -> Void
    ) throws -> Bool {
        guard !ended, let base = input.baseAddress else { return ended }
        stream.pointee.next_in = UnsafeMutablePointer(mutating: base.assumingMemoryBound(to: Bytef.self))
        stream.pointee.avail_in = uInt(input.count)
        while true {
            stream.pointee.next_out = output.baseAddress!.assumingMemoryBound(to: Bytef.self)
            stream.pointee.avail_out = uInt(output.count)
            let status = CZlib.inflate(stream, Z_NO_FLUSH)
            let made = output.count - Int(stream.pointee.avail_out)
            switch status {
            case Z_OK, Z_BUF_ERROR: break
            case Z_STREAM_END: ended = true
            default:
                throw NPZParseError("member \(name) does not inflate: the compressed data is corrupt or truncated")
            }
            if made > 0 { try hand(UnsafeRawBufferPointer(start: output.baseAddress, count: made)) }
            if ended {
                if stream.pointee.avail_in > 0 {
                    throw NPZParseError("member \(name) has data after its compressed stream: the archive is corrupt")
                }
                return true
            }
            // Output space left over means zlib wants more input.
            if stream.pointee.avail_in == 0 && stream.pointee.avail_out > 0 { return false }
            if status == Z_BUF_ERROR && made == 0 { return false }
        }
    }
}

extension [UInt8] {
    fileprivate func uint16(at offset: Int) -> UInt16 { UInt16(self[offset]) | UInt16(self[offset + 1]) << 8 }

    fileprivate func uint32(at offset: Int) -> UInt32 {
        (0..<4).reduce(0) { $0 | UInt32(self[offset + $1]) << (8 * $1) }
    }

    fileprivate func uint64(at offset: Int) -> UInt64 {
        (0..<8).reduce(0) { $0 | UInt64(self[offset + $1]) << (8 * $1) }
    }
}
