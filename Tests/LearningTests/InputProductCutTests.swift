import Testing

@testable import Learning

/// A conv layer's input product (δWᵀ, or R{δ}Wᵀ + δVᵀ, then col2im) split between the team's two
/// halves by images, each half with half the weight rows too, against the same products each
/// run whole in one half: the same bits in every pass.
@Suite("Conv input products cut between the team's halves")
struct InputProductCutTests {
    /// The LeNet-like net on 16×16 images: blocks of 20 images (first conv) and 10 (second).
    static let architecture = LeNetThreadsTests.architecture

    @Test(
        "cutting the input products by images gives the bits of whole products",
        arguments: [(batch: 43, chunk: 21), (batch: 40, chunk: 40)])
    func sameBits(sizes: (batch: Int, chunk: Int)) {
        let network = Network(architecture: Self.architecture)
        let workspace = NetworkWorkspace(architecture: Self.architecture, batchCapacity: sizes.batch)
        let conv = Self.architecture.stages.indices.filter {
            if case .conv2d = Self.architecture.stages[$0].operation { return true }
            return false
        }
        // Not vacuous: both conv layers' input products are cut at this batch (and at each chunk).
        for s in conv {
            #expect(network.inputRowCut(s, rows: sizes.batch, workspace: workspace) > 0)
            let cut = network.inputRowCut(s, rows: sizes.batch, workspace: workspace)
            guard case .conv2d(let g) = Self.architecture.stages[s].operation else { continue }
            #expect(cut % Network.columnBlockImages(g) == 0 && cut < sizes.batch)
        }
        let gathers = NetworkWorkspace.gathersByDefault
        let cut = ImageGatherTests.passes(
            Self.architecture, gathers: gathers, batch: sizes.batch, chunk: sizes.chunk, cutsInputProducts: true)
        let whole = ImageGatherTests.passes(
            Self.architecture, gathers: gathers, batch: sizes.batch, chunk: sizes.chunk, cutsInputProducts: false)
        #expect(cut.count == whole.count)
        let differing = zip(cut, whole).filter { $0 != $1 }.count
        #expect(differing == 0, "\(differing) of \(cut.count) values differ")
        #expect(cut.dropFirst(4).contains { Double(bitPattern: $0) != 0 })
    }

    @Test("the cut falls on a whole block of images nearest the middle, and only once there are two")
    func cutPoints() {
        let network = Network(architecture: Self.architecture)
        let workspace = NetworkWorkspace(architecture: Self.architecture, batchCapacity: 100)
        let whole = NetworkWorkspace(architecture: Self.architecture, batchCapacity: 100, cutsInputProducts: false)
        // Stage 3 is the second conv layer: blocks of 10 images.
        #expect(network.inputRowCut(3, rows: 19, workspace: workspace) == 0)
        #expect(network.inputRowCut(3, rows: 20, workspace: workspace) == 10)
        #expect(network.inputRowCut(3, rows: 43, workspace: workspace) == 20)
        #expect(network.inputRowCut(3, rows: 100, workspace: workspace) == 50)
        #expect(network.inputRowCut(3, rows: 100, workspace: whole) == 0)
        // Dense layers and layers without parameters are never cut.
        #expect(network.inputRowCut(Self.architecture.stages.count - 1, rows: 100, workspace: workspace) == 0)
    }
}
