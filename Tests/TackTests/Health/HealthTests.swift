import Foundation
import HTTPTypes
import SQLKit
import Testing
@testable import TackServer

/// A school in Beijing time: Ann (owner), Amy (admin); Bob in Class 1, Cat in Class 1 › Group A,
/// Dan in Class 2; Olga a health officer of Class 1; Pat, Cat's parent.
struct HealthFixture {
    var api: API
    var time: ManualTime
    var org: API.Org
    var ann: Person, amy: Person, bob: Person, cat: Person, dan: Person, olga: Person, pat: Person
    var members: [String: String]
    var class1: String, groupA: String, class2: String

    /// Monday 30 November 2026, 09:00 in Beijing.
    static let start = Date(timeIntervalSince1970: 1_796_000_400)

    static func make(_ api: API, _ time: ManualTime) async throws -> HealthFixture {
        let names = ["Ann", "Amy", "Bob", "Cat", "Dan", "Olga", "Pat"]
        var people: [String: Person] = [:]
        for name in names { people[name] = try await api.signUp(name) }
        let ann = people["Ann"]!
        let org = try await api.createOrg(ann, name: "School", kind: "school")
        let zone = try await api.call(.patch, "/api/v1/orgs/\(org.id)", as: ann, json: API.body(["timeZone": "Asia/Shanghai"]))
        #expect(zone.json["timeZone"].string == "Asia/Shanghai", "\(zone.text)")
        let class1 = try await api.createDepartment(org, as: ann, name: "Class 1", kind: "class")
        let groupA = try await api.createDepartment(org, as: ann, name: "Group A", parent: class1)
        let class2 = try await api.createDepartment(org, as: ann, name: "Class 2", kind: "class")
        var members = ["Ann": org.ownerMemberID]
        members["Amy"] = try await api.join(people["Amy"]!, org, owner: ann, role: "admin")
        for (name, department) in [("Bob", class1), ("Cat", groupA), ("Dan", class2), ("Olga", class1), ("Pat", class2)] {
            let invitation = try await api.call(.post, "/api/v1/orgs/\(org.id)/invitations", as: ann, json: API.body(["departmentId": department]))
            let accepted = try await api.call(.post, "/api/v1/invitations/\(invitation.json["code"].string ?? "")/accept", as: people[name]!)
            members[name] = accepted.json["member"]["id"].string
        }
        let officer = try await api.call(.patch, "/api/v1/orgs/\(org.id)/members/\(members["Olga"]!)", as: ann,
                                         json: API.body(["capabilities": ["health_officer"]]))
        #expect(officer.status == .ok, "\(officer.text)")
        return HealthFixture(api: api, time: time, org: org, ann: ann, amy: people["Amy"]!, bob: people["Bob"]!, cat: people["Cat"]!,
                             dan: people["Dan"]!, olga: people["Olga"]!, pat: people["Pat"]!, members: members, class1: class1,
                             groupA: groupA, class2: class2)
    }

    var base: String { "/api/v1/orgs/\(org.id)/health" }

    nonisolated(unsafe) static let questions: [[String: Any]] = [
        ["id": "temp", "kind": "temperature", "title": "Temperature", "required": true],
        ["id": "symptoms", "kind": "multiple_choice", "title": "Symptoms", "required": true,
         "options": [["id": "none", "label": "None"], ["id": "cough", "label": "Cough", "colour": "yellow"]]],
        ["id": "contact", "kind": "yes_no", "title": "Contact with a confirmed case?", "required": true, "yesColour": "red"],
        ["id": "city", "kind": "city", "title": "Current city", "required": false],
    ]

    static func input(title: String = "Daily health", departments: [String]? = nil, wholeOrganization: Bool? = nil, opensAt: String = "07:00",
                      closesAt: String = "10:00", extra: [String: Any?] = [:]) -> String {
        var body: [String: Any?] = ["title": title, "questions": questions, "opensAt": opensAt, "closesAt": closesAt,
                                    "departmentIds": departments, "wholeOrganization": wholeOrganization]
        for (k, v) in extra { body[k] = v }
        return API.body(body)
    }

    func create(_ body: String, as person: Person? = nil, key: String? = nil) async throws -> Reply {
        var headers = HTTPFields()
        if let key { headers[HTTPField.Name("Idempotency-Key")!] = key }
        return try await api.call(.post, "\(base)/reports", as: person ?? ann, json: body, headers: headers)
    }

    static func answers(temp: Double, cough: Bool = false, contact: Bool = false, city: String? = nil) -> [[String: Any]] {
        var items: [[String: Any]] = [["questionId": "temp", "temperature": temp], ["questionId": "symptoms", "choices": [cough ? "cough" : "none"]],
                                      ["questionId": "contact", "yes": contact]]
        if let city { items.append(["questionId": "city", "text": city]) }
        return items
    }

    func submit(_ report: String, as person: Person, day: String? = nil, answers: [[String: Any]], memberId: String? = nil) async throws -> Reply {
        try await api.call(.put, "\(base)/reports/\(report)/submission", as: person,
                           json: API.body(["day": day ?? today, "answers": answers, "memberId": memberId]))
    }

    /// Today in Beijing.
    var today: String { LocalDate(time.current, in: TimeZone(identifier: "Asia/Shanghai")!).description }

    func nextDay() { time.advance(by: 86_400) }
}

@Suite("Health report")
struct HealthTests {
    static func run(_ engine: Engine, _ body: @escaping @Sendable (HealthFixture) async throws -> Void) async throws {
        let (clock, time) = WallClock.manual(HealthFixture.start)
        try await withAPI(engine, clock: clock, configure: { $0.runJobs = false }) { api in
            try await body(try await HealthFixture.make(api, time))
        }
    }

    @Test("admins and officers set reports up; bad settings are refused and change nothing", arguments: Engine.all)
    func setUp(engine: Engine) async throws {
        try await Self.run(engine) { f in
            let bad: [(String, String)] = [
                (HealthFixture.input(departments: [f.class1], opensAt: "10:00", closesAt: "07:00"), "invalid_window"),
                (HealthFixture.input(departments: [f.class1], opensAt: "7am"), "invalid_time"),
                (HealthFixture.input(), "no_audience"),
                (HealthFixture.input(departments: [UUID().uuidString]), "unknown_department"),
                (HealthFixture.input(departments: [f.class1], extra: ["reminders": [["at": "11:00", "channel": "app"]]]), "outside_window"),
                (HealthFixture.input(departments: [f.class1], extra: ["rules": ["yellowTemperature": 38.5, "redTemperature": 37.3,
                                                                                "greenAfterYellowDays": 7, "greenAfterRedDays": 14]]), "invalid_rules"),
                (HealthFixture.input(departments: [f.class1], extra: ["holidays": ["2026-02-30"]]), "invalid_day"),
                (API.body(["title": "x", "questions": [], "opensAt": "07:00", "closesAt": "10:00", "wholeOrganization": true]), "empty"),
            ]
            for (body, code) in bad {
                let reply = try await f.create(body)
                #expect(reply.status == .unprocessableContent, "\(code): \(reply.text)")
                #expect(reply.json["errors"][0]["code"].string == code, "\(reply.text)")
            }
            #expect(try await f.api.call(.get, "\(f.base)/reports", as: f.ann).json["items"].array.isEmpty, "nothing was created")
            // A member may not; an officer only for their own classes.
            #expect(try await f.create(HealthFixture.input(departments: [f.class1]), as: f.bob).status == .forbidden)
            #expect(try await f.create(HealthFixture.input(departments: [f.class2]), as: f.olga).status == .forbidden)
            #expect(try await f.create(HealthFixture.input(wholeOrganization: true), as: f.olga).status == .forbidden)
            let byOfficer = try await f.create(HealthFixture.input(departments: [f.groupA]), as: f.olga)
            #expect(byOfficer.status == .created, "\(byOfficer.text)")
            #expect(byOfficer.json["canManage"].bool == true)
            // Idempotent create.
            let first = try await f.create(HealthFixture.input(wholeOrganization: true), key: "k1")
            #expect(first.status == .created)
            #expect(first.json["timeZone"].string == "Asia/Shanghai")
            #expect(try await f.create(HealthFixture.input(wholeOrganization: true), key: "k1").json["id"].string == first.json["id"].string)
            #expect(try await f.api.call(.get, "\(f.base)/reports", as: f.ann).json["items"].array.count == 2)
            // Bob sees the whole-organisation report only, without managing it.
            let bobs = try await f.api.call(.get, "\(f.base)/reports", as: f.bob).json["items"].array
            #expect(bobs.map { $0["id"].string } == [first.json["id"].string])
            #expect(bobs.first?["canManage"].bool == false)
        }
    }

    @Test("a member reports once a day within the window, corrects it, and the card follows", arguments: Engine.all)
    func submitAndCorrect(engine: Engine) async throws {
        try await Self.run(engine) { f in
            let report = try await f.create(HealthFixture.input(departments: [f.class1])).json["id"].string!
            let today = try await f.api.call(.get, "\(f.base)/today", as: f.bob).json
            #expect(today["items"].array.count == 1)
            #expect(today["items"][0]["open"].bool == true)
            #expect(today["items"][0]["day"].string == "2026-11-30")
            #expect(today["items"][0]["submission"].isNull)
            #expect(today["items"][0]["card"]["colour"].string == "green")
            #expect(try await f.api.call(.get, "\(f.base)/today", as: f.dan).json["items"].array.isEmpty, "Dan is in Class 2")

            // Bad answers: clear errors, nothing stored.
            for (answers, code) in [(HealthFixture.answers(temp: 48), "out_of_range"),
                                    ([["questionId": "temp", "temperature": 36.6]], "missing_answer"),
                                    (HealthFixture.answers(temp: 36.6) + [["questionId": "nope", "text": "x"]], "unknown_question"),
                                    ([["questionId": "temp", "text": "hot"], ["questionId": "symptoms", "choices": ["none"]],
                                      ["questionId": "contact", "yes": false]], "wrong_type")] {
                let reply = try await f.submit(report, as: f.bob, answers: answers)
                #expect(reply.status == .unprocessableContent, "\(code): \(reply.text)")
                #expect(reply.json["errors"][0]["code"].string == code, "\(reply.text)")
            }
            #expect(try await f.submit(report, as: f.dan, answers: HealthFixture.answers(temp: 36.6)).json["code"].string == "not_in_audience")
            #expect(try await f.submit(report, as: f.bob, day: "2026-12-01", answers: HealthFixture.answers(temp: 36.6)).json["code"].string
                    == "window_closed")

            let first = try await f.submit(report, as: f.bob, answers: HealthFixture.answers(temp: 36.6, city: "Beijing"))
            #expect(first.status == .ok, "\(first.text)")
            #expect(first.json["submission"]["revision"].int == 1)
            #expect(first.json["submission"]["colour"].string == "green")
            #expect(first.json["card"]["colour"].string == "green")
            let code = first.json["card"]["code"].string!
            #expect(code.count == 9)
            // The same again changes nothing.
            let again = try await f.submit(report, as: f.bob, answers: HealthFixture.answers(temp: 36.6, city: "Beijing"))
            #expect(again.json["submission"]["revision"].int == 1)
            // A correction: a fever makes the day (and the card) yellow; correcting back, green again.
            let fever = try await f.submit(report, as: f.bob, answers: HealthFixture.answers(temp: 37.8))
            #expect(fever.json["submission"]["revision"].int == 2)
            #expect(fever.json["card"]["colour"].string == "yellow")
            let back = try await f.submit(report, as: f.bob, answers: HealthFixture.answers(temp: 36.5))
            #expect(back.json["submission"]["revision"].int == 3)
            #expect(back.json["card"]["colour"].string == "green", "a correction recomputes the day, it does not add another")
            let stored = try await f.api.parts.database.read { db in
                try await HealthStore().countRevisions(db, reportID: HealthReport.ID(string: report)!, day: LocalDate("2026-11-30")!,
                                                      userID: User.ID(string: f.bob.userID)!)
            }
            #expect(stored == 2, "the two replaced versions are kept")
            // The dashboard of a report for Class 1 counts Class 1 and what is below it (and the
            // school above them), nobody else.
            let figures = try await f.api.call(.get, "\(f.base)/reports/\(report)/dashboard", as: f.ann).json
            #expect(figures["totals"]["audience"].int == 3, "Bob, Cat and Olga")
            #expect(figures["totals"]["reported"].int == 1)
            #expect(figures["departments"].array.map { $0["name"].string ?? "" }.sorted() == ["Class 1", "Group A", "School"])
            #expect(figures["departments"].array.map { $0["audience"].int ?? 0 }.sorted() == [1, 3, 3])

            // After the window: closed; the next day's window opens at 07:00.
            f.time.advance(by: 3600)
            #expect(try await f.submit(report, as: f.bob, answers: HealthFixture.answers(temp: 36.6)).json["code"].string == "window_closed")
            // The card's code is today's only.
            #expect(try await f.api.call(.get, "\(f.base)/cards/verify?code=\(code)", as: f.dan).json["valid"].bool == true)
            f.time.advance(by: 22 * 3600)  // Tuesday 08:00
            let verify = try await f.api.call(.get, "\(f.base)/cards/verify?code=\(code)", as: f.dan).json
            #expect(verify["valid"].bool == false, "yesterday's code does not pass")
            #expect(verify["name"].isNull)
            let card = try await f.api.call(.get, "\(f.base)/reports/\(report)/card", as: f.bob).json
            #expect(card["code"].string != code)
            #expect(card["day"].string == "2026-12-01")
            let checked = try await f.api.call(.get, "\(f.base)/cards/verify?code=\(card["code"].string!.lowercased())", as: f.dan).json
            #expect(checked["valid"].bool == true)
            #expect(checked["name"].string == "Bob")
            #expect(checked["colour"].string == "green")
        }
    }

    @Test("cards: yellow on a fever, red on contact, green after 7 (14) normal report days in a row; a missed day restarts", arguments: Engine.all)
    func cardRules(engine: Engine) async throws {
        try await Self.run(engine) { f in
            let report = try await f.create(HealthFixture.input(departments: [f.class1], extra: ["skipWeekends": true])).json["id"].string!
            func send(_ temp: Double, contact: Bool = false) async throws -> String {
                let reply = try await f.submit(report, as: f.bob, answers: HealthFixture.answers(temp: temp, contact: contact))
                #expect(reply.status == .ok, "\(reply.text)")
                return reply.json["card"]["colour"].string ?? ""
            }
            #expect(try await send(37.5) == "yellow")                      // Mon 30 Nov
            var colours: [String] = []
            for _ in 0..<7 {
                f.nextDay()
                if [6, 7].contains(LocalDate(f.today)!.isoWeekday) {
                    #expect(try await f.submit(report, as: f.bob, answers: HealthFixture.answers(temp: 36.6)).json["code"].string == "not_a_report_day")
                    continue
                }
                colours.append(try await send(36.6))
            }
            // Tue–Fri, then the weekend is skipped, then Mon: 5 normal report days so far.
            #expect(colours == ["yellow", "yellow", "yellow", "yellow", "yellow"])
            f.nextDay()                                                       // Tue 8 Dec: missed
            for _ in 0..<3 { f.nextDay(); if [6, 7].contains(LocalDate(f.today)!.isoWeekday) { continue }; colours.append(try await send(36.6)) }
            #expect(colours.last == "yellow", "the missed Tuesday restarted the count")
            // Red: contact; 14 normal days in a row needed.
            f.nextDay()
            while [6, 7].contains(LocalDate(f.today)!.isoWeekday) { f.nextDay() }
            #expect(try await send(36.6, contact: true) == "red")
            var streak = 0
            var last = "red"
            while streak < 14 {
                f.nextDay()
                if [6, 7].contains(LocalDate(f.today)!.isoWeekday) { continue }
                last = try await send(36.6)
                streak += 1
                if streak < 14 { #expect(last == "red", "day \(streak)") }
            }
            #expect(last == "green")
            let history = try await f.api.call(.get, "\(f.base)/reports/\(report)/history?days=14", as: f.bob).json
            #expect(history["card"]["colour"].string == "green")
            #expect(history["days"].array.count == 10, "two weeks of weekdays")
            #expect(history["days"].array.allSatisfy { $0["submission"]["colour"].string == "green" })
        }
    }

    @Test("privacy: members see their own answers only, officers their classes, every read of others' answers is logged", arguments: Engine.all)
    func privacy(engine: Engine) async throws {
        try await Self.run(engine) { f in
            let report = try await f.create(HealthFixture.input(wholeOrganization: true)).json["id"].string!
            for (person, temp) in [(f.bob, 38.0), (f.cat, 36.6), (f.dan, 36.7)] {
                #expect(try await f.submit(report, as: person, answers: HealthFixture.answers(temp: temp)).status == .ok)
            }
            let reports = "\(f.base)/reports/\(report)"
            // A member: no lists, no one else's history, no figures (not allowed by the report).
            #expect(try await f.api.call(.get, "\(reports)/members", as: f.dan).status == .forbidden)
            #expect(try await f.api.call(.get, "\(reports)/export", as: f.dan).status == .forbidden)
            #expect(try await f.api.call(.get, "\(reports)/history?memberId=\(f.members["Bob"]!)", as: f.dan).status == .notFound)
            #expect(try await f.api.call(.get, "\(reports)/dashboard", as: f.dan).status == .forbidden)
            // The officer of Class 1 sees Bob, Cat and herself — not Dan — and counts only.
            let list = try await f.api.call(.get, "\(reports)/members", as: f.olga).json
            #expect(Set(list["items"].array.map { $0["member"]["name"].string ?? "" }) == ["Bob", "Cat", "Olga"])
            #expect(list["items"].array.allSatisfy { $0["answers"].isNull })
            #expect(try await f.api.call(.get, "\(reports)/history?memberId=\(f.members["Dan"]!)", as: f.olga).status == .notFound)
            let dashboard = try await f.api.call(.get, "\(reports)/dashboard", as: f.olga).json
            #expect(dashboard["totals"]["audience"].int == 3)
            #expect(dashboard["totals"]["reported"].int == 2)
            #expect(dashboard["totals"]["yellow"].int == 1)
            #expect(dashboard["departments"].array.map { $0["name"].string ?? "" }.sorted() == ["Class 1", "Group A", "School"],
                    "her classes, and the school above them counting only her classes")
            // Nothing logged for counts and names; answers and histories are.
            #expect(try await f.api.call(.get, "\(f.base)/access-log", as: f.ann).json["items"].array.isEmpty)
            let withAnswers = try await f.api.call(.get, "\(reports)/members?answers=true&status=abnormal", as: f.olga).json
            #expect(withAnswers["items"].array.map { $0["member"]["name"].string } == ["Bob"])
            #expect(withAnswers["items"][0]["answers"][0]["temperature"].double == 38.0)
            f.time.advance(by: 1)
            #expect(try await f.api.call(.get, "\(reports)/history?memberId=\(f.members["Cat"]!)", as: f.olga).status == .ok)
            let log = try await f.api.call(.get, "\(f.base)/access-log", as: f.ann).json["items"].array
            #expect(log.map { $0["action"].string } == ["history", "answers"])
            #expect(log.allSatisfy { $0["reader"]["name"].string == "Olga" })
            #expect(log[1]["subjects"].array.map { $0["name"].string } == ["Bob"])
            #expect(log[0]["subjects"].array.map { $0["name"].string } == ["Cat"])
            // Only owners read the log.
            #expect(try await f.api.call(.get, "\(f.base)/access-log", as: f.amy).status == .forbidden)
            // Aggregates for everyone, when allowed: counts, no departments.
            var input = try JSONSerialization.jsonObject(with: Data(HealthFixture.input(wholeOrganization: true).utf8)) as! [String: Any]
            input["aggregatesVisible"] = true
            let updated = try await f.api.call(.put, reports, as: f.ann, json: API.body(input))
            #expect(updated.status == .ok, "\(updated.text)")
            let shared = try await f.api.call(.get, "\(reports)/dashboard", as: f.dan).json
            #expect(shared["totals"]["reported"].int == 3)
            #expect(shared["departments"].array.isEmpty)
        }
    }

    @Test("dashboard: by department with everything below, trend from kept daily totals, drill-down pages and exports", arguments: Engine.all)
    func dashboard(engine: Engine) async throws {
        try await Self.run(engine) { f in
            let report = try await f.create(HealthFixture.input(wholeOrganization: true, extra: ["skipWeekends": false])).json["id"].string!
            let reports = "\(f.base)/reports/\(report)"
            #expect(try await f.submit(report, as: f.bob, answers: HealthFixture.answers(temp: 36.6)).status == .ok)
            #expect(try await f.submit(report, as: f.cat, answers: HealthFixture.answers(temp: 37.6)).status == .ok)
            // The window closes: the day's totals are kept by the close job.
            f.time.advance(by: 3600)
            #expect(try await f.api.parts.jobs.runDue() >= 1)
            f.time.advance(by: 22 * 3600)
            #expect(try await f.submit(report, as: f.dan, answers: HealthFixture.answers(temp: 36.6)).status == .ok)
            let d = try await f.api.call(.get, "\(reports)/dashboard", as: f.amy).json
            #expect(d["day"].string == "2026-12-01")
            #expect(d["totals"]["audience"].int == 7)
            #expect(d["totals"]["reported"].int == 1)
            #expect(d["totals"]["notReported"].int == 6)
            #expect(d["trend"].array.map { $0["day"].string } == ["2026-11-30", "2026-12-01"])
            #expect(d["trend"][0]["reported"].int == 2)
            #expect(d["trend"][0]["yellow"].int == 1)
            #expect(d["trend"][0]["audience"].int == 7)
            let monday = try await f.api.call(.get, "\(reports)/dashboard?day=2026-11-30", as: f.amy).json
            let byName = Dictionary(uniqueKeysWithValues: monday["departments"].array.map { ($0["name"].string ?? "", $0) })
            #expect(byName["Class 1"]?["audience"].int == 3, "Bob, Olga and Cat (Group A is below Class 1)")
            #expect(byName["Class 1"]?["reported"].int == 2)
            #expect(byName["Class 1"]?["abnormal"].int == 1)
            #expect(byName["Group A"]?["abnormal"].int == 1)
            #expect(byName["Class 2"]?["reported"].int == 0)
            // Drill-down: pages by name.
            var names: [String] = []
            var cursor: String?
            repeat {
                let page = try await f.api.call(.get, "\(reports)/members?day=2026-11-30&status=not_reported&limit=2"
                                                + (cursor.map { "&cursor=\($0.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)" } ?? ""),
                                                as: f.amy).json
                names += page["items"].array.map { $0["member"]["name"].string ?? "" }
                cursor = page["nextCursor"].string
            } while cursor != nil
            #expect(names == ["Amy", "Ann", "Dan", "Olga", "Pat"])
            let classOne = try await f.api.call(.get, "\(reports)/members?day=2026-11-30&departmentId=\(f.class1)", as: f.amy).json
            #expect(classOne["items"].array.map { $0["member"]["name"].string } == ["Bob", "Cat", "Olga"])
            // Exports: CSV with answers; the export is logged.
            let csv = try await f.api.call(.get, "\(reports)/export?day=2026-11-30&status=reported", as: f.amy)
            #expect(csv.status == .ok)
            #expect(csv.headers[.contentType]?.hasPrefix("text/csv") == true)
            #expect(csv.headers[.contentDisposition]?.contains("attachment") == true)
            let lines = csv.text.split(whereSeparator: \.isNewline)
            #expect(lines.count == 3)
            #expect(lines[1].hasPrefix("Bob,Class 1,reported,green,36.6,2026-11-30T09:00:00+08:00,Bob,36.6,None,no"), "\(lines[1])")
            let xlsx = try await f.api.call(.get, "\(reports)/export?format=xlsx", as: f.amy)
            #expect(xlsx.status == .ok)
            #expect(xlsx.headers[.contentType] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
            #expect(xlsx.text.hasPrefix("PK"))
            let log = try await f.api.call(.get, "\(f.base)/access-log", as: f.ann).json["items"].array
            #expect(log.map { $0["action"].string } == ["export", "export"])
            #expect(log.compactMap { $0["subjectCount"].int }.sorted() == [1, 2], "Bob and Cat on Monday, Dan today")
        }
    }

    @Test("raw answers expire after the retention period; colours and counts stay", arguments: Engine.all)
    func retention(engine: Engine) async throws {
        try await Self.run(engine) { f in
            let report = try await f.create(HealthFixture.input(wholeOrganization: true, extra: ["skipWeekends": false, "retentionDays": 3]))
                .json["id"].string!
            #expect(try await f.submit(report, as: f.bob, answers: HealthFixture.answers(temp: 37.9, city: "Wuhan")).status == .ok)
            for day in 1...4 {
                f.nextDay()
                _ = try await f.api.parts.jobs.runDue()
                let history = try await f.api.call(.get, "\(f.base)/reports/\(report)/history?days=10", as: f.bob).json
                let first = history["days"].array.last!
                #expect(first["day"].string == "2026-11-30")
                #expect(first["submission"]["colour"].string == "yellow", "the colour stays")
                #expect(first["submission"]["answers"].isNull == (day > 3), "day \(day): \(first)")
            }
            let revisions = try await f.api.parts.database.read { db in
                try await HealthStore().countRevisions(db, reportID: HealthReport.ID(string: report)!, day: LocalDate("2026-11-30")!,
                                                      userID: User.ID(string: f.bob.userID)!)
            }
            #expect(revisions == 0, "the earlier answers went too")
            let d = try await f.api.call(.get, "\(f.base)/reports/\(report)/dashboard?day=2026-11-30", as: f.ann).json
            #expect(d["totals"]["reported"].int == 1)
            #expect(d["totals"]["yellow"].int == 1)
        }
    }

    @Test("reminders: in-app then a DING to those who have not reported (and guardians of students)", arguments: Engine.all)
    func reminders(engine: Engine) async throws {
        try await Self.run(engine) { f in
            // It is 09:00: reminders at 09:30 in the app and 09:45 as a DING.
            let report = try await f.create(HealthFixture.input(departments: [f.class1], extra: [
                "allowGuardians": true, "reminders": [["at": "09:30", "channel": "app"], ["at": "09:45", "channel": "ding"]]])).json["id"].string!
            let set = try await f.api.call(.put, "/api/v1/orgs/\(f.org.id)/members/\(f.members["Cat"]!)/guardians", as: f.ann,
                                           json: API.body(["memberIds": [f.members["Pat"]!]]))
            #expect(set.json["items"].array.map { $0["name"].string } == ["Pat"], "\(set.text)")
            // Pat reports for Cat; Bob reports himself; Olga has not.
            #expect(try await f.submit(report, as: f.bob, answers: HealthFixture.answers(temp: 36.6)).status == .ok)
            let forCat = try await f.submit(report, as: f.pat, answers: HealthFixture.answers(temp: 36.6), memberId: f.members["Cat"]!)
            #expect(forCat.status == .ok, "\(forCat.text)")
            #expect(forCat.json["submission"]["member"]["name"].string == "Cat")
            #expect(forCat.json["submission"]["submittedBy"]["name"].string == "Pat")
            #expect(try await f.submit(report, as: f.dan, answers: HealthFixture.answers(temp: 36.6), memberId: f.members["Cat"]!)
                .json["code"].string == "not_a_guardian")
            let patToday = try await f.api.call(.get, "\(f.base)/today", as: f.pat).json["items"].array
            #expect(patToday.map { $0["relation"].string } == ["ward"])
            f.time.advance(by: 45 * 60)
            #expect(try await f.api.parts.jobs.runDue() >= 2)
            let olgas = try await f.api.call(.get, "/api/v1/orgs/\(f.org.id)/dings", as: f.olga).json["items"].array
            #expect(olgas.count == 1)
            #expect(olgas.first?["text"].string?.contains("Daily health") == true)
            #expect(try await f.api.call(.get, "/api/v1/orgs/\(f.org.id)/dings", as: f.bob).json["items"].array.isEmpty)
            #expect(try await f.api.call(.get, "/api/v1/orgs/\(f.org.id)/dings", as: f.pat).json["items"].array.isEmpty)
            // The one-click DING: once per 5 minutes, and only while open.
            let ding = try await f.api.call(.post, "\(f.base)/reports/\(report)/remind", as: f.ann)
            #expect(ding.status == .created, "\(ding.text)")
            #expect(ding.json["recipientCount"].int == 1)
            #expect(try await f.api.call(.post, "\(f.base)/reports/\(report)/remind", as: f.ann).status == .tooManyRequests)
            f.time.advance(by: 3600)
            #expect(try await f.api.call(.post, "\(f.base)/reports/\(report)/remind", as: f.ann).json["code"].string == "window_closed")
        }
    }

    @Test("reports sent at once share transactions: each person's stored once, every replaced version kept", arguments: Engine.all)
    func concurrent(engine: Engine) async throws {
        try await Self.run(engine) { f in
            let report = try await f.create(HealthFixture.input(wholeOrganization: true)).json["id"].string!
            let people = [f.ann, f.amy, f.bob, f.cat, f.dan, f.olga, f.pat]
            let statuses = try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                for (i, person) in people.enumerated() {
                    for temp in [36.5, 36.5, 37.5 + Double(i) / 10] {
                        group.addTask { try await f.submit(report, as: person, answers: HealthFixture.answers(temp: temp)).status }
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(statuses.allSatisfy { $0 == .ok }, "\(statuses)")
            let d = try await f.api.call(.get, "\(f.base)/reports/\(report)/dashboard", as: f.ann).json
            #expect(d["totals"]["reported"].int == 7)
            for person in people {
                let history = try await f.api.call(.get, "\(f.base)/reports/\(report)/history", as: person).json
                let revision = history["days"][0]["submission"]["revision"].int ?? 0
                let recorded = try await f.api.parts.database.read { db in
                    try await HealthStore().countRevisions(db, reportID: HealthReport.ID(string: report)!, day: LocalDate("2026-11-30")!,
                                                          userID: User.ID(string: person.userID)!)
                }
                #expect((2...3).contains(revision), "36.5 then 37.x, or 37.x, 36.5, 37.x… (\(person.name): \(revision))")
                #expect(recorded == revision - 1, "every replaced version is kept (\(person.name))")
            }
        }
    }
}

extension HealthTests {
    @Test("a batch of any size is written and read in statements of a few fixed shapes: 37 cards stored, read back among 300 people, then updated",
          arguments: Engine.all)
    func oddSizedBatches(engine: Engine) async throws {
        try await Self.run(engine) { f in
            let report = HealthReport.ID(string: try await f.create(HealthFixture.input(wholeOrganization: true)).json["id"].string!)!
            let orgID = Organization.ID(string: f.org.id)!
            let db = f.api.parts.database
            let users = (0..<37).map { _ in User.ID.random() }
            try await db.write { tx in
                for (i, id) in users.enumerated() {
                    try await AccountStore().insertUser(tx, User(id: id, name: "Batch \(i)", email: "batch\(i)@example.com", phone: nil, locale: "en",
                                                                 claimed: false, createdAt: HealthFixture.start), passwordHash: nil)
                }
            }
            func card(_ i: Int, streak: Int) -> HealthCardRecord {
                HealthCardRecord(state: CardState(colour: i % 3 == 0 ? .yellow : .green, normalStreak: streak, lastDay: LocalDate("2026-11-30")),
                                 prior: CardState(), code: "C\(i)-\(streak)", codeDay: LocalDate("2026-11-30"))
            }
            for streak in [1, 2] {  // the first time inserted, the second updated (ON CONFLICT)
                try await db.write { tx in
                    try await HealthStore().saveCards(tx, orgID: orgID, reportID: report, users.enumerated().map { ($1, card($0, streak: streak)) },
                                                      now: HealthFixture.start)
                }
                let strangers = (0..<263).map { _ in User.ID.random() }  // 300 in all: pieces of 256 and 64
                let read = try await db.read { tx in try await HealthStore().fetchCards(tx, reportID: report, users: users + strangers) }
                #expect(read.count == 37)
                for (i, id) in users.enumerated() { #expect(read[id] == card(i, streak: streak), "person \(i), streak \(streak)") }
            }
        }
    }
}

@Suite("Statement shapes")
struct StatementShapesTests {
    @Test("VALUES pieces cover the batch once, in order, in powers of two of at most 64: a handful of texts for every size")
    func valuesPieces() {
        var sizes: Set<Int> = []
        for n in 0...600 {
            let batch = Array(0..<n)
            let pieces = batch.statementChunks()
            #expect(pieces.flatMap { $0 } == batch)
            for piece in pieces {
                #expect(piece.count <= 64 && piece.count & (piece.count - 1) == 0, "\(n): \(piece.count)")
                sizes.insert(piece.count)
            }
            #expect(pieces.count <= n / 64 + 6)
        }
        #expect(sizes == [1, 2, 4, 8, 16, 32, 64])
    }

    @Test("IN lists hold every value and only those, padded to a power of two, at most 256 to a statement")
    func inLists() {
        for n in 0...600 {
            let values = (0..<n).map { "v\($0)" }
            let lists = values.inListChunks()
            #expect(Set(lists.flatMap { $0 }) == Set(values))
            #expect(lists.count == (n + 255) / 256)
            for list in lists { #expect(list.count <= 256 && list.count & (list.count - 1) == 0) }
            let padded = values.paddedInList()
            #expect(Set(padded) == Set(values))
            #expect(n == 0 ? padded.isEmpty : padded.count & (padded.count - 1) == 0 && padded.count < 2 * n)
        }
    }

    @Test("message ids are UUIDs of version 7 that sort by time, also as SQLite's upper-case text")
    func timeOrderedIDs() {
        let base = Date(timeIntervalSince1970: 1_796_000_400)
        let ids = (0..<200).map { Message.ID.timeOrdered(at: base.addingTimeInterval(Double($0) * 0.002)) }
        #expect(ids.map { UUIDText.format($0.rawValue, uppercase: true) } == ids.map { UUIDText.format($0.rawValue, uppercase: true) }.sorted())
        #expect(Set(ids).count == 200)
        for id in ids {
            #expect(id.string.dropFirst(14).first == "7", "version 7: \(id.string)")
            #expect("89ab".contains(id.string.dropFirst(19).first!), "RFC 4122 variant: \(id.string)")
        }
        #expect(ids[0].string.prefix(13) == String(format: "%08llx-%04llx", UInt64(1_796_000_400_000) >> 16, UInt64(1_796_000_400_000) & 0xFFFF))
    }
}
