"""Loop-by-loop Python transcription of the official HICO-DET evaluation, kept as an independent reference.

Sources: ywchao/ho-rcnn ``evaluation/eval_one.m`` (the ``format = 'obj'`` branch: one ``detections_XX.mat`` per
object), ``evaluation/VOCevaldet_bboxpair.m``, ``evaluation/get_list_coco_obj.m`` and
``common/cell_find_string.m``; TIN vendors the same files.

Shares no code with ``tin_jax``: the .mat files are read here with ``scipy.io.loadmat`` and walked as MATLAB
walks them. Indices stay 1-based in the loops (``x[i - 1]`` for MATLAB's ``x(i)``). MATLAB semantics emulated:

- ``sort(-det_conf)`` is stable: Python's ``sorted`` is stable too;
- ``0/0`` is NaN and ``x/0`` is +-Inf (:func:`mdivide`), ``max([])`` is empty;
- ``for t = 0:0.1:1`` iterates over MATLAB's colon values (:func:`matlab_thresholds`);
- ``mean(x)`` is ``sum(x) / numel(x)`` summed left to right (Python >= 3.12 ``sum`` of floats is
  compensated, so it is not used).

Left out: printing, timing, ``parfor`` (a plain loop), the result-file cache, plotting.
"""

import math

import numpy as np
import scipy.io

# get_list_coco_obj.m
LIST_COCO_OBJ = [
    'person', 'bicycle', 'car', 'motorcycle', 'airplane', 'bus', 'train', 'truck', 'boat', 'traffic_light',
    'fire_hydrant', 'stop_sign', 'parking_meter', 'bench', 'bird', 'cat', 'dog', 'horse', 'sheep', 'cow',
    'elephant', 'bear', 'zebra', 'giraffe', 'backpack', 'umbrella', 'handbag', 'tie', 'suitcase', 'frisbee',
    'skis', 'snowboard', 'sports_ball', 'kite', 'baseball_bat', 'baseball_glove', 'skateboard', 'surfboard',
    'tennis_racket', 'bottle', 'wine_glass', 'cup', 'fork', 'knife', 'spoon', 'bowl', 'banana', 'apple',
    'sandwich', 'orange', 'broccoli', 'carrot', 'hot_dog', 'pizza', 'donut', 'cake', 'chair', 'couch',
    'potted_plant', 'bed', 'dining_table', 'toilet', 'tv', 'laptop', 'mouse', 'remote', 'keyboard', 'cell_phone',
    'microwave', 'oven', 'toaster', 'sink', 'refrigerator', 'book', 'clock', 'vase', 'scissors', 'teddy_bear',
    'hair_drier', 'toothbrush',
]


def matlab_thresholds():
    """MATLAB's ``0:0.1:1``: n = 10 intervals, lower half a + k*d, upper half b - k*d, middle (a + b) / 2."""
    a, d, b, n = 0.0, 0.1, 1.0, 10
    v = [0.0] * (n + 1)
    for k in range(0, n // 2 + 1):
        v[k] = a + k * d
        v[n - k] = b - k * d
    v[n // 2] = (a + b) / 2
    return v


def mdivide(a, b):
    """MATLAB scalar ``a / b`` (IEEE: 0/0 = NaN, x/0 = +-Inf)."""
    if b == 0:
        return float('nan') if a == 0 or math.isnan(a) else math.copysign(math.inf, a) * math.copysign(1.0, b)
    return a / b


def matlab_mean(x):
    if len(x) == 0:
        return float('nan')
    s = 0.0
    for v in x:
        s = s + v
    return s / len(x)


def isempty(x):
    return x is None or (isinstance(x, np.ndarray) and x.size == 0) or (isinstance(x, list) and len(x) == 0)


def cell_find_string(C, string):
    """1-based indices of the cells equal to ``string``."""
    return [i + 1 for i, x in enumerate(C) if x == string]


def mat_str(x):
    """A loaded char array (or a 1x1 cell around one) as str."""
    while isinstance(x, np.ndarray) and x.dtype.kind == 'O':
        x = x.flat[0]
    if isinstance(x, np.ndarray):
        return str(x.flat[0]) if x.size else ''
    return str(x)


def mat_num(x):
    return float(np.asarray(x).flat[0])


def struct_elems(s):
    """Elements of a struct array in MATLAB linear (column-major) order; [] gives none."""
    if not isinstance(s, np.ndarray) or s.size == 0 or s.dtype.names is None:
        return []
    return list(s.flatten(order='F'))


def load(path):
    return scipy.io.loadmat(path, squeeze_me=False, struct_as_record=True)


def VOCevaldet_bboxpair(det_id, det_bb, det_conf, gt_bbox, min_overlap, thresholds=None):
    if thresholds is None:
        thresholds = matlab_thresholds()

    # load ground truth objects
    npos = 0
    gt = [{'bb': [], 'det': []} for _ in range(len(gt_bbox))]
    for i in range(1, len(gt_bbox) + 1):
        if not isempty(gt_bbox[i - 1]):
            gt[i - 1]['bb'] = gt_bbox[i - 1]
            gt[i - 1]['det'] = [False] * gt_bbox[i - 1].shape[0]
            npos = npos + gt_bbox[i - 1].shape[0]

    # sort detections by decreasing confidence
    si = sorted(range(len(det_conf)), key=lambda k: -det_conf[k])
    det_id = [det_id[k] for k in si]
    det_bb = [det_bb[k] for k in si]

    # assign detections to ground truth objects
    nd = len(det_conf)
    tp = [0.0] * nd
    fp = [0.0] * nd

    for d in range(1, nd + 1):
        # get gt id
        i = det_id[d - 1]
        # get det box
        bb_1 = det_bb[d - 1][0:4]
        bb_2 = det_bb[d - 1][4:8]
        # set ov_max
        ov_max = -math.inf
        j_max = None
        n_gt = len(gt[i - 1]['bb']) if isinstance(gt[i - 1]['bb'], list) else gt[i - 1]['bb'].shape[0]
        for j in range(1, n_gt + 1):
            # get gt box
            bbgt_1 = gt[i - 1]['bb'][j - 1, 0:4]
            bbgt_2 = gt[i - 1]['bb'][j - 1, 4:8]
            # compare box 1
            bi_1 = [max(bb_1[0], bbgt_1[0]), max(bb_1[1], bbgt_1[1]),
                    min(bb_1[2], bbgt_1[2]), min(bb_1[3], bbgt_1[3])]
            iw_1 = bi_1[2] - bi_1[0] + 1
            ih_1 = bi_1[3] - bi_1[1] + 1
            if iw_1 > 0 and ih_1 > 0:
                # compute overlap as area of intersection / area of union
                ua_1 = ((bb_1[2] - bb_1[0] + 1) * (bb_1[3] - bb_1[1] + 1)
                        + (bbgt_1[2] - bbgt_1[0] + 1) * (bbgt_1[3] - bbgt_1[1] + 1)
                        - iw_1 * ih_1)
                ov_1 = mdivide(iw_1 * ih_1, ua_1)
            else:
                ov_1 = 0.0
            # compare box 2
            bi_2 = [max(bb_2[0], bbgt_2[0]), max(bb_2[1], bbgt_2[1]),
                    min(bb_2[2], bbgt_2[2]), min(bb_2[3], bbgt_2[3])]
            iw_2 = bi_2[2] - bi_2[0] + 1
            ih_2 = bi_2[3] - bi_2[1] + 1
            if iw_2 > 0 and ih_2 > 0:
                ua_2 = ((bb_2[2] - bb_2[0] + 1) * (bb_2[3] - bb_2[1] + 1)
                        + (bbgt_2[2] - bbgt_2[0] + 1) * (bbgt_2[3] - bbgt_2[1] + 1)
                        - iw_2 * ih_2)
                ov_2 = mdivide(iw_2 * ih_2, ua_2)
            else:
                ov_2 = 0.0
            # get minimum
            min_ov = min(ov_1, ov_2)
            # update ov_max & j_max
            if min_ov > ov_max:
                ov_max = min_ov
                j_max = j
        # assign detection as true positive/don't care/false positive
        if ov_max >= min_overlap:
            if not gt[i - 1]['det'][j_max - 1]:
                tp[d - 1] = 1.0  # true positive
                gt[i - 1]['det'][j_max - 1] = True
            else:
                fp[d - 1] = 1.0  # false positive (multiple detection)
        else:
            fp[d - 1] = 1.0  # false positive

    # compute precision/recall
    for k in range(1, nd):
        fp[k] = fp[k] + fp[k - 1]
        tp[k] = tp[k] + tp[k - 1]
    rec = [mdivide(t, npos) for t in tp]
    prec = [mdivide(tp[k], fp[k] + tp[k]) for k in range(nd)]

    # compute average precision
    ap = 0.0
    for t in thresholds:
        sel = [prec[k] for k in range(nd) if rec[k] >= t]
        p = max(sel) if sel else []
        if isempty(p):
            p = 0.0
        ap = ap + p / 11
    return rec, prec, ap


def convert_gt(anno, bbox, image_set='test2015'):
    """The 'convert gt format' block: gt_all{hoi_id, i} (a list of lists, None = empty cell)."""
    if image_set == 'train2015':
        gt_bbox, list_im = bbox['bbox_train'], anno['list_train']
    else:
        gt_bbox, list_im = bbox['bbox_test'], anno['list_test']
    images = struct_elems(gt_bbox)
    list_im = [mat_str(x) for x in list_im.flatten(order='F')]
    assert len(images) == len(list_im)
    num_action = anno['list_action'].size
    num_image = len(images)
    gt_all = [[None] * num_image for _ in range(num_action)]
    for i in range(1, num_image + 1):
        assert mat_str(images[i - 1]['filename']) == list_im[i - 1]
        hois = struct_elems(images[i - 1]['hoi'])
        for j in range(1, len(hois) + 1):
            if not mat_num(hois[j - 1]['invis']):
                hoi_id = int(mat_num(hois[j - 1]['id']))
                bbox_h = struct_elems(hois[j - 1]['bboxhuman'])
                bbox_o = struct_elems(hois[j - 1]['bboxobject'])
                conn = hois[j - 1]['connection']
                n_conn = conn.shape[0] if conn.size else 0
                boxes = np.zeros((n_conn, 8))
                for k in range(1, n_conn + 1):
                    boxes[k - 1, 0] = mat_num(bbox_h[int(conn[k - 1, 0]) - 1]['x1'])
                    boxes[k - 1, 1] = mat_num(bbox_h[int(conn[k - 1, 0]) - 1]['y1'])
                    boxes[k - 1, 2] = mat_num(bbox_h[int(conn[k - 1, 0]) - 1]['x2'])
                    boxes[k - 1, 3] = mat_num(bbox_h[int(conn[k - 1, 0]) - 1]['y2'])
                    boxes[k - 1, 4] = mat_num(bbox_o[int(conn[k - 1, 1]) - 1]['x1'])
                    boxes[k - 1, 5] = mat_num(bbox_o[int(conn[k - 1, 1]) - 1]['y1'])
                    boxes[k - 1, 6] = mat_num(bbox_o[int(conn[k - 1, 1]) - 1]['x2'])
                    boxes[k - 1, 7] = mat_num(bbox_o[int(conn[k - 1, 1]) - 1]['y2'])
                gt_all[hoi_id - 1][i - 1] = boxes
    return gt_all


def eval_one(anno, bbox, det_loader, eval_mode, gt_all=None, classes=None, thresholds=None):
    """AP and REC lists (length num_action) of one eval_one.m run.

    Args:
        anno, bbox: ``loadmat`` dicts of anno.mat and anno_bbox.mat.
        det_loader: obj_id (1-based) -> the ``all_boxes`` cell array of ``detections_%02d.mat``.
        eval_mode: 'def' or 'ko'.
        gt_all: a precomputed :func:`convert_gt` (optional).
        classes: 1-based classes to evaluate (default all; the others keep AP = REC = 0).
    """
    min_overlap = 0.5
    assert eval_mode in ('def', 'ko')
    gt_bbox_n = len(struct_elems(bbox['bbox_test']))
    anno_im = anno['anno_test']
    list_action = struct_elems(anno['list_action'])
    nnames = [mat_str(a['nname']) for a in list_action]
    num_action = len(list_action)
    num_image = gt_bbox_n

    # get HOI index intervals for object classes
    list_coco_obj = LIST_COCO_OBJ
    obj_hoi_int = [[0, 0] for _ in list_coco_obj]
    for i in range(1, len(list_coco_obj) + 1):
        hoi_int = cell_find_string(nnames, list_coco_obj[i - 1])
        assert len(hoi_int) > 0
        obj_hoi_int[i - 1][0] = hoi_int[0]
        obj_hoi_int[i - 1][1] = hoi_int[-1]

    if gt_all is None:
        gt_all = convert_gt(anno, bbox)

    AP = [0.0] * num_action
    REC = [0.0] * num_action
    for i in (range(1, num_action + 1) if classes is None else classes):
        nname = nnames[i - 1]
        # get object id and action id within the object category
        obj_id = cell_find_string(list_coco_obj, nname)
        assert len(obj_id) == 1
        obj_id = obj_id[0]
        act_id = i - obj_hoi_int[obj_id - 1][0] + 1
        all_boxes = det_loader(obj_id)
        det = [all_boxes[act_id - 1, j] for j in range(all_boxes.shape[1])]
        # convert detection results
        det_id = []
        det_bb = []
        det_conf = []
        for j in range(1, len(det) + 1):
            if not isempty(det[j - 1]):
                num_det = det[j - 1].shape[0]
                det_id += [j] * num_det
                det_bb += [[float(v) for v in det[j - 1][r, 0:8]] for r in range(num_det)]
                det_conf += [float(det[j - 1][r, 8]) for r in range(num_det)]
        # convert zero-based to one-based indices
        det_bb = [[v + 1 for v in row] for row in det_bb]
        # get gt bbox
        assert len(det) == num_image
        gt = gt_all[i - 1]
        # adjust det & gt bbox by the evaluation mode
        if eval_mode == 'ko':
            nid = cell_find_string(nnames, nname)
            iid = [j for j in range(1, num_image + 1) if any(anno_im[n - 1, j - 1] == 1 for n in nid)]
            iid_set = set(iid)
            assert all(isempty(gt[j - 1]) for j in range(1, num_image + 1) if j not in iid_set)
            keep = [k for k in range(len(det_id)) if det_id[k] in iid_set]
            det_id = [det_id[k] for k in keep]
            det_bb = [det_bb[k] for k in keep]
            det_conf = [det_conf[k] for k in keep]
        # compute ap
        rec, prec, ap = VOCevaldet_bboxpair(det_id, det_bb, det_conf, gt, min_overlap, thresholds)
        AP[i - 1] = ap
        if not isempty(rec):
            REC[i - 1] = rec[-1]
    return AP, REC


def num_train_instances(bbox, num_action):
    """eval_one.m ``num_inst``."""
    num_inst = [0] * num_action
    for img in struct_elems(bbox['bbox_train']):
        for h in struct_elems(img['hoi']):
            if not mat_num(h['invis']):
                hoi_id = int(mat_num(h['id']))
                conn = h['connection']
                num_inst[hoi_id - 1] = num_inst[hoi_id - 1] + (conn.shape[0] if conn.size else 0)
    return num_inst


def summarize(AP, REC, bbox):
    """The six printed means: (mAP, mRec) for full, rare (num_inst < 10), non-rare."""
    num_inst = num_train_instances(bbox, len(AP))
    s_ind = [n < 10 for n in num_inst]
    p_ind = [n >= 10 for n in num_inst]
    pick = lambda x, m: [v for v, k in zip(x, m) if k]  # noqa: E731
    return {
        'map_full': matlab_mean(AP), 'mrec_full': matlab_mean(REC),
        'map_rare': matlab_mean(pick(AP, s_ind)), 'mrec_rare': matlab_mean(pick(REC, s_ind)),
        'map_non_rare': matlab_mean(pick(AP, p_ind)), 'mrec_non_rare': matlab_mean(pick(REC, p_ind)),
    }


def file_loader(det_dir):
    """det_loader reading ``det_dir/detections_%02d.mat`` (cached: eval_one.m reloads the same file per class)."""
    cache = {}

    def loader(obj_id):
        if obj_id not in cache:
            cache[obj_id] = load('%s/detections_%02d.mat' % (det_dir, obj_id))['all_boxes']
        return cache[obj_id]

    return loader


def run(anno_file, bbox_file, det_dir, thresholds=None):
    """eval_run.m: {'def': (AP, REC, means), 'ko': (...)} for the files on disk."""
    anno = load(anno_file)
    bbox = load(bbox_file)
    gt_all = convert_gt(anno, bbox)
    loader = file_loader(det_dir)
    out = {}
    for mode in ('def', 'ko'):
        AP, REC = eval_one(anno, bbox, loader, mode, gt_all=gt_all, thresholds=thresholds)
        out[mode] = (AP, REC, summarize(AP, REC, bbox))
    return out
