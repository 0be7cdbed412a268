"""Python 3 transcription of TIN's two interactiveness (binary) AP scripts.

Sources (DirtyHarryLYL/Transferable-Interactiveness-Network):

* master ``HICO-DET_Benchmark/HICO_Benchmark_Binary.py``: ``IOU``, the labelling loop and AP of
  ``deal_with_det``, and the 11-point AP of ``Generate_HICO_detection_binary``;
* branch TIN-PAMI ``eval/eval_HICO_DET_binary.py``: ``iou``, ``calc_hit``, ``calc_binary``.

This file is the *independent reference* for ``tests/test_binary_eval.py``; it shares no code with ``tin_jax``
and keeps the original loops. Changes, none of them semantic:

* module globals become arguments: ``data`` (``scipy.io.loadmat`` of ``anno_bbox.mat``) and ``test_image_all``
  for the master script, ``gt_bbox`` (the dict of ``gt_binary_HICO_DET.pkl``) for the TPAMI one;
* Python 2 -> 3: ``iteritems`` -> ``items``, ``map`` -> ``list(map(...))``, prints dropped, mixed tab/space
  indentation fixed, and ``conn[0] - 1`` -> ``int(conn[0]) - 1`` (list indices must be ints in both Pythons:
  the script relies on the real file's integer-typed ``connection``; the synthetic file stores doubles);
  ``int(hoi[0][0])`` -> ``int(hoi[0][0][0])`` (``int()`` of a 1-d array is an error in NumPy 2);
* the a/b/c pair bucketing of ``deal_with_det`` (statistics only, no effect on the AP) is left out.

:func:`gt_binary_from_mat` is *not* a transcription: the construction of ``gt_binary_HICO_DET.pkl`` is
unpublished, so it is the test's own, independent statement of the rule ``tin_jax`` documents.
"""

import numpy as np


# ----------------------------------------------------------------------------------------------
# master: HICO_Benchmark_Binary.py
# ----------------------------------------------------------------------------------------------

def IOU(bbox_gt, bbox_det):

    x1, x2, y1, y2 = bbox_gt
    x1d, y1d, x2d, y2d = bbox_det

    xa = max(x1, x1d)
    ya = max(y1, y1d)
    xb = min(x2, x2d)
    yb = min(y2, y2d)

    iw1 = xb - xa + 1
    iw2 = yb - ya + 1

    if iw1 > 0 and iw2 > 0:
        inter_area = iw1 * iw2
        a_area = (x2 - x1 + 1) * (y2 - y1 + 1)
        b_area = (x2d - x1d + 1) * (y2d - y1d + 1)
        union_area = a_area + b_area - inter_area
        return inter_area / float(union_area)
    else:
        return 0


def deal_with_det(det_file, data, test_image_all):

    pair_id = 0

    num_pairs = sum([len(value) for value in det_file.values()])

    inter_label = np.zeros(num_pairs, dtype = 'int32')
    no_inter_label = np.zeros(num_pairs, dtype = 'int32')

    d_score_inter = np.zeros(num_pairs, dtype = 'float32')
    d_score_no_inter = np.zeros(num_pairs, dtype = 'float32')

    for image_id, value in det_file.items(): # traverse all items in pkl file

        image_index = test_image_all.index(image_id) # image_id is not image index in gt
        info = data['bbox_test'][0, image_index]['hoi']
        list_hoi_gt = info['id'].tolist()

        for element in value:

            bbox_h_det = list(map(int, element[0].tolist())) # in format (x1,y1,x2,y2)
            bbox_o_det = list(map(int, element[1].tolist())) # in format (x1,y1,x2,y2)

            prob_inter = element[6][0] # d score of inter
            prob_no_inter = element[6][1] # d score of no-inter

            d_score_inter[pair_id] = prob_inter
            d_score_no_inter[pair_id] = prob_no_inter

            flag = 0 # 1 for inter, 0 for no inter

            for index, hoi in enumerate(list_hoi_gt):

                if flag == 1:
                    break

                hoi_gt = int(hoi[0][0][0])

                if info['invis'][0, index].tolist()[0][0] == 1:
                    continue

                list_bboxhuman_gt = info['bboxhuman'][0, index].tolist()
                list_bboxobject_gt = info['bboxobject'][0, index].tolist()
                connection = info['connection'][0, index].tolist()

                for conn in connection:

                    id_box_human = int(conn[0]) - 1
                    id_box_object = int(conn[1]) - 1
                    bbox_h_gt = list(np.array(list_bboxhuman_gt[0][id_box_human], dtype = 'int32')[:,0,0]) # in format (x1,x2,y1,y2)
                    bbox_o_gt = list(np.array(list_bboxobject_gt[0][id_box_object], dtype = 'int32')[:,0,0]) # in format (x1,x2,y1,y2)

                    if IOU(bbox_h_gt, bbox_h_det) > 0.5 and IOU(bbox_o_gt, bbox_o_det) > 0.5:
                        flag = 1
                        break

            if flag == 1:
                inter_label[pair_id] = 1 # give inter labels
            else:
                no_inter_label[pair_id] = 1 # give no_inter labels

            pair_id += 1

    # inter
    tp_inter = inter_label[np.argsort(-d_score_inter)]
    fp_inter = no_inter_label[np.argsort(-d_score_inter)]
    num_inter = np.sum(inter_label)

    tp_inter = np.cumsum(tp_inter)
    fp_inter = np.cumsum(fp_inter)
    prec_inter = tp_inter.astype('float32')/(tp_inter + fp_inter)
    recall_inter = tp_inter.astype('float32')/num_inter

    # no inter
    tp_no_inter = no_inter_label[np.argsort(-d_score_no_inter)]
    fp_no_inter = inter_label[np.argsort(-d_score_no_inter)]
    num_no_inter = np.sum(no_inter_label)

    tp_no_inter = np.cumsum(tp_no_inter)
    fp_no_inter = np.cumsum(fp_no_inter)
    prec_no_inter = tp_no_inter.astype('float32')/(tp_no_inter + fp_no_inter)
    recall_no_inter = tp_no_inter.astype('float32')/num_no_inter

    return prec_inter, recall_inter, prec_no_inter, recall_no_inter, num_inter, num_no_inter, inter_label


def Generate_HICO_detection_binary(det_file, data, test_image_all):

    prec_inter, recall_inter, prec_no_inter, recall_no_inter, num_inter, num_no_inter, inter_label = \
        deal_with_det(det_file, data, test_image_all)

    # compute average precision
    ap_inter = 0.0
    ap_no_inter = 0.0

    for i in range(11):

        p_inter = max(prec_inter[recall_inter >= i/10.0])
        p_no_inter = max(prec_no_inter[recall_no_inter >= i/10.0])

        if p_inter is not None:
            ap_inter += p_inter / 11.0
        if p_no_inter is not None:
            ap_no_inter += p_no_inter / 11.0

    binary_mAP = (ap_inter + ap_no_inter) / 2.0

    return ap_inter, ap_no_inter, binary_mAP, inter_label


# ----------------------------------------------------------------------------------------------
# TIN-PAMI: eval/eval_HICO_DET_binary.py
# ----------------------------------------------------------------------------------------------

def iou(bb1, bb2, debug=False):
    x1 = bb1[2] - bb1[0]
    y1 = bb1[3] - bb1[1]
    if x1 < 0:
        x1 = 0
    if y1 < 0:
        y1 = 0

    x2 = bb2[2] - bb2[0]
    y2 = bb2[3] - bb2[1]
    if x2 < 0:
        x2 = 0
    if y2 < 0:
        y2 = 0

    xiou = min(bb1[2], bb2[2]) - max(bb1[0], bb2[0])
    yiou = min(bb1[3], bb2[3]) - max(bb1[1], bb2[1])
    if xiou < 0:
        xiou = 0
    if yiou < 0:
        yiou = 0

    if xiou * yiou <= 0:
        return 0
    else:
        return xiou * yiou / (x1 * y1 + x2 * y2 - xiou * yiou)


def calc_hit(det, gtbox):
    gtbox = gtbox.astype(np.float64)
    hiou = iou(det[:4], gtbox[:4])
    oiou = iou(det[4:], gtbox[4:])
    return min(hiou, oiou)


def calc_binary(keys, bboxes, score, gt_bbox):
    hit = []
    idx = np.argsort(score)[::-1]
    npos = 0
    used = {}
    for key in gt_bbox.keys():
        npos += gt_bbox[key].shape[0]
        used[key] = set()
    if len(idx) == 0:
        return 0, 0

    for j in range(len(idx)):
        pair_id = idx[j]
        bbox = bboxes[pair_id]
        key = keys[pair_id]

        if key in gt_bbox.keys():
            maxi = 0.0
            k = -1
            for i in range(gt_bbox[key].shape[0]):
                tmp = calc_hit(bbox[0], gt_bbox[key][i, :])
                if maxi < tmp:
                    maxi = tmp
                    k = i
            if k in used[key] or maxi < 0.5:
                hit.append(0)
            else:
                hit.append(1)
                used[key].add(k)
        else:
            hit.append(0)

    bottom = np.array(range(len(hit))) + 1
    hit = np.cumsum(np.array(hit))

    rec = hit / npos
    prec = hit / bottom
    ap = 0.0
    for i in range(11):
        mask = rec >= (i / 10.0)
        if np.sum(mask) > 0:
            ap += np.max(prec[mask]) / 11.0

    return ap, np.max(rec)


def Generate_HICO_detection(Binary, gt_bbox):
    """``Generate_HICO_detection`` up to the AP; the score is ``element[3][0][0]``."""
    keys, scores, bboxes = [], [], []

    for key, value in Binary.items():
        for i in range(len(value)):
            element = value[i]
            keys.append(key)
            scores.append(element[3][0][0])
            hbox = element[0].reshape(1, -1)
            obox = element[1].reshape(1, -1)
            bboxes.append(np.concatenate([hbox, obox], axis=1))

    return calc_binary(keys, bboxes, scores, gt_bbox)


def gt_binary_from_mat(data, test_image_all, no_interaction=None):
    """Test-side GT for :func:`calc_binary`: image id -> [K, 8] unique ``[h, o]`` pairs in 0-based pixels.

    Every connection of every non-invisible HOI (skipping the 1-based HOI ids in ``no_interaction``), boxes
    read from the struct order (x1, x2, y1, y2), minus 1, duplicates dropped keeping the first.
    """
    no_interaction = set(no_interaction or ())
    out = {}
    for image_index, image_id in enumerate(test_image_all):
        hois = data['bbox_test'][0, image_index]['hoi'][0]
        rows = []
        for hoi in hois:
            if int(np.asarray(hoi['invis']).ravel()[0]) == 1:
                continue
            if int(np.asarray(hoi['id']).ravel()[0]) in no_interaction:
                continue
            humans, objects = hoi['bboxhuman'][0], hoi['bboxobject'][0]
            for conn in np.asarray(hoi['connection']).reshape(-1, 2):
                h = humans[int(conn[0]) - 1]
                o = objects[int(conn[1]) - 1]
                hx1, hx2, hy1, hy2 = (float(np.asarray(v).ravel()[0]) for v in h)
                ox1, ox2, oy1, oy2 = (float(np.asarray(v).ravel()[0]) for v in o)
                row = [hx1 - 1, hy1 - 1, hx2 - 1, hy2 - 1, ox1 - 1, oy1 - 1, ox2 - 1, oy2 - 1]
                if row not in rows:
                    rows.append(row)
        out[image_id] = np.array(rows, dtype=np.float64).reshape(-1, 8)
    return out
