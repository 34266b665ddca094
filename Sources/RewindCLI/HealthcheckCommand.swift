import ArgumentParser
import HTTPClient

/// `rewind healthcheck`: exit 0 when the local service answers `/healthz` (the Docker HEALTHCHECK;
/// the runtime image has no curl).
struct HealthcheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "healthcheck", abstract: "Exit 0 if the service at --url answers /healthz (or /readyz) with 200.")

    @Option(help: "Service URL (REWIND_URL; default http://127.0.0.1:$REWIND_PORT).")
    var url: String = Environment.string("REWIND_URL") ?? "http://127.0.0.1:\(Environment.int("REWIND_PORT") ?? 8080)"

    @Flag(help: "Check readiness (/readyz) instead of liveness.")
    var ready = false

    func run() throws {
        do {
            let response = try HTTPClient(url: url, timeout: .seconds(3)).request("GET", ready ? "/readyz" : "/healthz")
            guard response.status == 200 else {
                Console.error("rewind: \(url) answered \(response.status)")
                throw ExitCode(1)
            }
        } catch let failure as HTTPClientError {
            Console.error("rewind: \(failure)")
            throw ExitCode(1)
        }
    }
}
