"""Regenerates the CSV corpus under tests/data (malformed/ and good/). Deterministic."""
import datetime, math, os, random

HERE = os.path.dirname(os.path.abspath(__file__))
HEADER = ["region", "week", "sales", "tv", "search", "tv_spend", "price"]


def base(n_weeks=45, regions=("north", "south")):
    rng = random.Random(7)
    rows = []
    start = datetime.date(2021, 1, 4)
    for r, name in enumerate(regions):
        for t in range(n_weeks):
            tv = round(rng.uniform(0, 1000), 2) if t % 4 else 0.0
            search = round(rng.uniform(0, 500), 2)
            sales = round(1000 * (r + 1) + 0.5 * tv + 0.8 * search + 50 * math.sin(t / 5), 3)
            rows.append([name, (start + datetime.timedelta(weeks=t)).isoformat(), sales, tv, search,
                         round(tv * 0.01, 4), round(9.99 + 0.1 * math.cos(t), 4)])
    return rows


def write(path, header, rows, sep=","):
    with open(os.path.join(HERE, path), "w") as f:
        f.write(sep.join(header) + "\n")
        for row in rows:
            f.write(sep.join(str(v) for v in row) + "\n")


def line(i):
    """Index into rows of file line i (header is line 1)."""
    return i - 2


M = "malformed/"
open(os.path.join(HERE, M + "empty.csv"), "w").close()
write(M + "header_only.csv", HEADER, [])
write(M + "wrong_delimiter.csv", HEADER, base(), sep=";")
write(M + "unknown_column.csv", [h for h in HEADER if h != "search"],
      [[v for j, v in enumerate(r) if j != 4] for r in base()])
write(M + "duplicate_column.csv", ["region", "week", "sales", "tv", "tv", "tv_spend", "price"], base())
rows = base(); rows[line(5)][3] = "n/a"; write(M + "non_numeric.csv", HEADER, rows)
rows = base(); rows[line(7)][2] = "NaN"; write(M + "nan_value.csv", HEADER, rows)
rows = base(); rows[line(9)][6] = "inf"; write(M + "inf_value.csv", HEADER, rows)
rows = base(); rows[line(11)][5] = -5; write(M + "negative_spend.csv", HEADER, rows)
rows = base(); rows[line(12)][4] = -1; write(M + "negative_media.csv", HEADER, rows)
rows = base(); rows[line(20)][1] = rows[line(18)][1]; write(M + "duplicate_row.csv", HEADER, rows)
rows = base(); rows[line(14)][1] = "2021-03-09"; write(M + "uneven_weeks.csv", HEADER, rows)  # 2021-03-08 + 1 day
write(M + "too_few_weeks.csv", HEADER, base(n_weeks=20))
rows = base()
for r in rows:
    r[2] = 100
write(M + "constant_target.csv", HEADER, rows)
rows = base()
for r in rows:
    r[4] = 0
write(M + "all_zero_channel.csv", HEADER, rows)
rows = base(); rows[line(6)] = rows[line(6)][:-1]; write(M + "ragged_row.csv", HEADER, rows)
rows = base(); rows[line(8)][1] = "week 8"; write(M + "bad_week.csv", HEADER, rows)
rows = base(); rows[line(10)][0] = ""; write(M + "empty_region.csv", HEADER, rows)

# An unbalanced but valid panel: `east` starts at week 5, `south` misses weeks 10-11, negative target cell.
rows = base(regions=("north", "south", "east"))
rows = [r for i, r in enumerate(rows) if not (r[0] == "east" and i % 45 < 5)
        and not (r[0] == "south" and i % 45 in (10, 11))]
rows[3][2] = -12.5
write("good/unbalanced.csv", HEADER, rows)
# A national panel with integer weeks and no region column.
rows = [[t, r[2], r[3], r[4], r[6]] for t, r in enumerate(base(n_weeks=60, regions=("n",)))]
write("good/national.csv", ["week", "sales", "tv", "search", "price"], rows)
