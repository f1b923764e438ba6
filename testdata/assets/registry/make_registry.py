#!/usr/bin/env python3
"""Writes the registry fixtures beside this script.

- registry_zh.xlsx: a Henan 安全责任清单 as a unit keeps it in Excel: a title row, Chinese
  headers in row 2, one row per system or per host of a system, region codes typed as
  numbers, 等保级别 written several ways, addresses and networks several to a cell.
  Row 16 has a region code no region has (419999), row 17 an 等保级别 of 6.
- registry_zh_gbk.csv: the same sheet as Excel saves "CSV (逗号分隔)" on a Chinese Windows:
  GBK, CRLF.
- registry_merged.xlsx: a system's name, region and department in merged cells spanning its
  hosts' rows.
- registry_en.csv: English headers, UTF-8, the shape a script or another tool exports.

Run: python3 make_registry.py (needs python3-openpyxl).
"""

import csv
import os

from openpyxl import Workbook
from openpyxl.styles import Font

HERE = os.path.dirname(os.path.abspath(__file__))

TITLE = "河南省信息系统安全责任清单（2026年）"
HEADER = [
    "序号", "系统名称", "区划代码", "使用单位", "运维单位", "联系人", "联系电话",
    "等保级别", "备案号", "关键信息基础设施", "互联网暴露", "IP地址", "域名", "标签",
]

# One row per system, or per host of a system (rows 4 and 5 are one system). Integers are
# written as numbers, as a person types them into Excel.
ROWS = [
    [1, "河南省政务服务网", 410000, "河南省行政审批和政务信息管理局", "河南省信息中心", "张伟",
     "0371-65500001", "三级", "41000013001-00001", "是", "是", "10.41.1.0/24",
     "www.hnzwfw.gov.cn", "政务服务、门户"],
    [2, "河南省政务服务网", 410000, "河南省行政审批和政务信息管理局", "", "", "", "", "", "",
     "", "10.41.1.10", "web01", ""],
    [3, "河南省电子政务外网", 410000, "河南省行政审批和政务信息管理局",
     "中国电信河南分公司", "李娜", "13800000002", "第三级", "41000013001-00002", "是", "否",
     "10.40.0.0/16", "", "网络"],
    [4, "河南省政务云平台", 410000, "河南省行政审批和政务信息管理局", "河南省政务云运维中心",
     "王磊", "13800000003", "S3A3G3", "41000013001-00003", "√", "否", "172.16.0.0/12",
     "cloud-mgmt", "云平台"],
    [5, "郑州市城市大脑", 410100, "郑州市大数据管理局", "郑州数智科技集团", "赵敏",
     "13800000004", 3, "41010013002-00001", "否", "是", "10.41.100.0/24、10.41.101.5",
     "brain.zhengzhou.gov.cn", ""],
    [6, "郑州市住房公积金管理系统", 410100, "郑州住房公积金管理中心", "郑州数智科技集团",
     "孙丽", "13800000005", "二级", "41010013002-00002", "否", "是",
     "10.41.102.20\n10.41.102.21", "gjj.zhengzhou.gov.cn", "民生"],
    [7, "中原区政府门户网站", 410102, "中原区人民政府办公室", "中原区大数据中心", "周杰",
     "13800000006", "二级", "41010213002-00001", "否", "是", "10.41.120.8",
     "www.zhongyuan.gov.cn", "门户"],
    [8, "中原区网格化管理平台", 410102, "中原区城市管理局", "中原区大数据中心", "吴芳",
     "13800000007", 2, "", "否", "否", "10.41.121.0/25", "", ""],
    [9, "洛阳市一网通办平台", "洛阳市", "洛阳市政务服务和大数据管理局", "洛阳市信息中心", "郑浩",
     "13800000008", "三级", "41030013002-00001", "否", "是",
     "10.43.1.0/24; 2001:db8:4103::/48", "www.lyzwfw.gov.cn", "政务服务"],
    [10, "洛阳市医保结算系统", 410300, "洛阳市医疗保障局", "洛阳医保信息公司", "冯静",
     "13800000009", "3级", "41030013002-00002", "是", "否", "10.43.20.0/24", "", "医保"],
    [11, "洛阳市视频监控平台", 410300, "洛阳市公安局", "洛阳市公安局科信支队", "陈刚",
     "13800000010", "四级", "41030013004-00001", "是", "否", "10.43.30.0/23", "", "视频"],
    [12, "开封市智慧文旅平台", 410200, "开封市文化广电和旅游局", "开封文旅数字科技", "褚琳",
     "13800000011", "二级", "", "否", "是", "10.42.5.0/24", "kf-wl-01, kf-wl-02", "文旅"],
    [13, "济源市政府网站", 419001, "济源示范区党政办公室", "济源示范区大数据中心", "卫东",
     "13800000012", "二级", "41900113002-00001", "否", "是", "10.44.1.3", "www.jiyuan.gov.cn",
     "门户"],
    [14, "某县教育管理系统", 419999, "某县教育局", "", "蒋涛", "13800000013", "二级", "", "否",
     "否", "10.49.1.0/24", "", ""],
    [15, "郑州市测试系统", 410100, "郑州市大数据管理局", "", "沈洁", "13800000014", 6, "", "否",
     "否", "10.41.200.1", "", ""],
]

EN_HEADER = ["system", "region", "department", "operator", "contact", "phone", "level",
             "filing", "cii", "exposure", "addresses", "hostnames", "tags"]
EN_ROWS = [
    ["Henan government cloud", "410000", "Henan Big Data Bureau", "Cloud ops centre", "Wang Lei",
     "13800000003", "3", "41000013001-00003", "yes", "internal", "172.16.0.0/12",
     "cloud-mgmt", "cloud"],
    ["Zhengzhou city brain", "410100", "Zhengzhou Big Data Bureau", "Zhengzhou Digital",
     "Zhao Min", "13800000004", "3", "41010013002-00001", "no", "internet",
     "10.41.100.0/24;10.41.101.5", "brain.zhengzhou.gov.cn", "city"],
    ["Luoyang one-stop portal", "Luoyang", "Luoyang Data Bureau", "Luoyang IT centre", "", "",
     "2", "", "N", "internet", "10.43.1.0/24 2001:db8:4103::/48", "www.lyzwfw.gov.cn", ""],
]


def write_xlsx(path, rows, title=True, merges=()):
    wb = Workbook()
    ws = wb.active
    ws.title = "责任清单"
    r = 1
    if title:
        ws.cell(row=1, column=1, value=TITLE).font = Font(bold=True, size=14)
        ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(HEADER))
        r = 2
    for c, h in enumerate(HEADER, start=1):
        ws.cell(row=r, column=c, value=h).font = Font(bold=True)
    for row in rows:
        r += 1
        for c, v in enumerate(row, start=1):
            if v != "" and v is not None:
                ws.cell(row=r, column=c, value=v)
    for m in merges:
        ws.merge_cells(m)
    wb.save(path)


def write_csv(path, rows, encoding):
    with open(path, "w", encoding=encoding, newline="") as f:
        w = csv.writer(f, lineterminator="\r\n")
        w.writerow([TITLE] + [""] * (len(HEADER) - 1))
        w.writerow(HEADER)
        for row in rows:
            w.writerow(["" if v is None else str(v) for v in row])


def main():
    write_xlsx(os.path.join(HERE, "registry_zh.xlsx"), ROWS)
    write_csv(os.path.join(HERE, "registry_zh_gbk.csv"), ROWS, "gbk")

    # Rows 2–4 are the hosts of one system; its name, region and department cells are merged
    # over them, as people format such lists (Excel keeps the value in the first cell only).
    merged_rows = [
        [1, "郑州市城市大脑", 410100, "郑州市大数据管理局", "郑州数智科技集团", "赵敏", "", "三级",
         "", "否", "是", "10.41.100.1", "brain-web", ""],
        [2, None, None, None, "", "", "", "", "", "", "", "10.41.100.2", "brain-app", ""],
        [3, None, None, None, "", "", "", "", "", "", "", "10.41.100.3", "brain-db", ""],
        [4, "郑州市住房公积金管理系统", 410100, "郑州住房公积金管理中心", "", "", "", "二级", "",
         "否", "是", "10.41.102.20", "", ""],
    ]
    write_xlsx(os.path.join(HERE, "registry_merged.xlsx"), merged_rows, title=False,
               merges=["B2:B4", "C2:C4", "D2:D4"])

    with open(os.path.join(HERE, "registry_en.csv"), "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(EN_HEADER)
        w.writerows(EN_ROWS)


if __name__ == "__main__":
    main()
