import Foundation

// Usage: sqlite-drivers [--drivers tack,grdb,sqlite-kit] [--modes sequential,concurrent,batch]
//                       [--repeats 3] [--scale 4] [--dir /tmp]   (scale 1 = 3,000 / 64×50 / 100×100 inserts)
// Each (driver, mode, repeat) runs on a fresh database file in --dir; prints rows/s per repeat
// and the median, then a table.

struct Options {
    var drivers = ["tack", "grdb", "sqlite-kit"]
    var modes = ["sequential", "concurrent", "batch"]
    var repeats = 3
    var scale = 4.0
    var dir = "/tmp"

    init() {
        var args = CommandLine.arguments.dropFirst().makeIterator()
        while let a = args.next() {
            guard let v = args.next() else { fatalError("missing value for \(a)") }
            switch a {
            case "--drivers": drivers = v.split(separator: ",").map(String.init)
            case "--modes": modes = v.split(separator: ",").map(String.init)
            case "--repeats": repeats = Int(v)!
            case "--scale": scale = Double(v)!
            case "--dir": dir = v
            default: fatalError("unknown option \(a)")
            }
        }
    }
}

func open(_ driver: String, path: String) async throws -> any MessageStore {
    switch driver {
    case "tack": return try await TackStore(path: path)
    case "grdb": return try await GRDBStore(path: path)
    case "sqlite-kit": return try await KitStore(path: path)
    default: fatalError("unknown driver \(driver)")
    }
}

/// Runs one mode; returns (rows inserted, seconds).
func run(_ mode: String, store: any MessageStore, scale: Double) async throws -> (Int, Double) {
    let clock = ContinuousClock()
    switch mode {
    case "sequential":
        let n = Int(3000 * scale)
        let t = try await clock.measure {
            for i in 0..<n { try await store.insert([.make(i)]) }
        }
        return (n, t.seconds)
    case "concurrent":
        let tasks = 64, each = Int(50 * scale)
        let t = try await clock.measure {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for k in 0..<tasks {
                    group.addTask {
                        for i in 0..<each { try await store.insert([.make(k * each + i)]) }
                    }
                }
                try await group.waitForAll()
            }
        }
        return (tasks * each, t.seconds)
    case "batch":
        let batches = Int(100 * scale)
        let t = try await clock.measure {
            for b in 0..<batches { try await store.insert((0..<100).map { NewMessage.make(b * 100 + $0) }) }
        }
        return (batches * 100, t.seconds)
    default: fatalError("unknown mode \(mode)")
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

func median(_ xs: [Double]) -> Double {
    let s = xs.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

func main() async throws {
    let o = Options()
    var table: [String: [String: Double]] = [:]
    for driver in o.drivers {
        for mode in o.modes {
            var rates: [Double] = []
            for r in 0..<o.repeats {
                let path = "\(o.dir)/sqlite-drivers-\(driver)-\(mode)-\(r)-\(getpid()).sqlite"
                defer { for s in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + s) } }
                let store = try await open(driver, path: path)
                let settings = try await store.settings()
                // Warm-up: prepare statements, create the counter rows.
                for i in 0..<200 { try await store.insert([.make(i)]) }
                let (rows, seconds) = try await run(mode, store: store, scale: o.scale)
                try await store.close()
                if let problem = try verify(path: path, expected: rows + 200) {
                    print("VERIFY FAILED \(driver) \(mode): \(problem)")
                    exit(1)
                }
                let rate = Double(rows) / seconds
                rates.append(rate)
                print("\(driver) \(mode) #\(r + 1): \(rows) rows in \(String(format: "%.3f", seconds)) s = \(Int(rate)) rows/s (\(settings); verified)")
            }
            table[driver, default: [:]][mode] = median(rates)
        }
    }
    print("\nrows/s, median of \(o.repeats) (each insert = BEGIN IMMEDIATE, counter upsert … RETURNING, insert … RETURNING, COMMIT; WAL, synchronous=NORMAL)")
    print("| mode | " + o.drivers.joined(separator: " | ") + " |")
    print("|---|" + o.drivers.map { _ in "---:" }.joined(separator: "|") + "|")
    let names = ["sequential": "sequential, 1 transaction per insert", "concurrent": "64 concurrent tasks, 1 transaction per insert",
                 "batch": "100 inserts per transaction"]
    for mode in o.modes {
        print("| \(names[mode] ?? mode) | " + o.drivers.map { d in table[d]?[mode].map { String(format: "%.0f", $0) } ?? "—" }.joined(separator: " | ") + " |")
    }
}

try await main()
