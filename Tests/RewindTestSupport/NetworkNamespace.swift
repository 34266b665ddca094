import Foundation

/// A network namespace linked to this one by a veth pair: a separate host on one machine. A process
/// started through `launcher` reaches this namespace only over the link, which `cut()` takes down
/// (a network partition) and `heal()` brings back.
///
/// The addresses are private test addresses made here and gone with the namespace: `deinit`
/// deletes it (and so both ends of the link), also when the test failed.
public final class NetworkNamespace {
    public let name: String
    /// This side's address (where the namespace's processes find the database).
    public let hostAddress: String
    /// The namespace's own address.
    public let namespaceAddress: String
    /// The /24 both addresses are in.
    public let network: String
    private let hostLink: String

    /// Why namespaces cannot be made here, or nil when they can (root and `ip` are needed).
    public static let unavailableReason: String? = {
        guard FileManager.default.isExecutableFile(atPath: ip) else { return "iproute2's ip is not installed" }
        guard getuid() == 0 else { return "network namespaces need root (CI runs as root)" }
        let probe = "rwprobe\(getpid())"
        guard (try? run(["netns", "add", probe])) != nil else {
            return "ip netns add failed: namespaces are not permitted here"
        }
        _ = try? run(["netns", "del", probe])
        return nil
    }()

    static let ip = FileManager.default.isExecutableFile(atPath: "/usr/sbin/ip") ? "/usr/sbin/ip" : "/bin/ip"

    public init() throws {
        let tag = Int(getpid()) % 10_000
        let subnet = 16 + Int(getpid()) % 200
        name = "rwpart\(getpid())"
        hostLink = "rwh\(tag)"
        let namespaceLink = "rwn\(tag)"
        network = "10.213.\(subnet).0/24"
        hostAddress = "10.213.\(subnet).1"
        namespaceAddress = "10.213.\(subnet).2"
        try Self.run(["netns", "add", name])
        do {
            try Self.run(["link", "add", hostLink, "type", "veth", "peer", "name", namespaceLink])
            try Self.run(["link", "set", namespaceLink, "netns", name])
            try Self.run(["addr", "add", "\(hostAddress)/24", "dev", hostLink])
            try Self.run(["link", "set", hostLink, "up"])
            try Self.run([
                "netns", "exec", name, Self.ip, "addr", "add", "\(namespaceAddress)/24", "dev", namespaceLink,
            ])
            try Self.run(["netns", "exec", name, Self.ip, "link", "set", namespaceLink, "up"])
            try Self.run(["netns", "exec", name, Self.ip, "link", "set", "lo", "up"])
        } catch {
            remove()
            throw error
        }
    }

    deinit { remove() }

    /// Runs a program inside the namespace (it must exec, as `ip netns exec` does).
    public var launcher: [String] { [Self.ip, "netns", "exec", name] }

    /// Takes the link down: nothing passes between the namespace and this side.
    public func cut() throws { try Self.run(["link", "set", hostLink, "down"]) }

    /// Brings the link back.
    public func heal() throws { try Self.run(["link", "set", hostLink, "up"]) }

    private func remove() {
        // Deleting the namespace deletes its end of the pair, and with it this end.
        _ = try? Self.run(["netns", "del", name])
        _ = try? Self.run(["link", "del", hostLink])
    }

    @discardableResult
    static func run(_ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: ip)
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        guard process.terminationStatus == 0 else {
            throw ServerProcessError("ip \(arguments.joined(separator: " ")) failed: \(text)")
        }
        return text
    }
}
