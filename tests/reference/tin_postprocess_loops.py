"""Loop-by-loop transcription of TIN's test-time post-processing, kept as an independent reference.

Sources (DirtyHarryLYL/Transferable-Interactiveness-Network, master):

- ``lib/models/test_HICO_pose_pattern_all_wise_pair.py`` ``im_detect``: the pair loops and the zero-pair
  fallback (network calls left out: the pairs are returned);
- ``HICO-DET_Benchmark/HICO_Benchmark_Binary.py`` ``deal_with_det``: only how it lays the D scores out;
- ``HICO-DET_Benchmark/Generate_HICO_detection_nis.py`` ``save_HICO`` and the 80 calls of
  ``Generate_HICO_detection`` (``all_boxes`` returned instead of saved; the a/b/c pair statistics left out);
- ``tools/Vcoco_lis_nis.py`` ``apply_prior``, ``getSigmoid`` and ``generate_pkl``.

Shares no code with ``tin_jax``. Python 3 / NumPy 2 port: ``iteritems`` -> ``items``; NumPy 1 evaluated numpy
scalar vs Python float arithmetic and comparisons in float64, NumPy 2 does them in float32, so such scalars are
turned into ``float``/``np.float64`` where the original relied on the promotion (marked ``# NumPy 1``).
"""

import numpy as np

human_num_thres = 4
object_num_thres = 4

# Generate_HICO_detection_nis.py
hoi_no_inter_all = [10, 24, 31, 46, 54, 65, 76, 86, 92, 96, 107, 111, 129, 146, 160, 170, 174, 186, 194, 198, 208,
                    214, 224, 232, 235, 239, 243, 247, 252, 257, 264, 273, 283, 290, 295, 305, 313, 325, 330, 336,
                    342, 348, 352, 356, 363, 368, 376, 383, 389, 393, 397, 407, 414, 418, 429, 434, 438, 445, 449,
                    453, 463, 474, 483, 488, 502, 506, 516, 528, 533, 538, 546, 550, 558, 562, 567, 576, 584, 588,
                    595, 600]
hoi_range = [(161, 170), (11, 24), (66, 76), (147, 160), (1, 10), (55, 65), (187, 194), (568, 576), (32, 46),
             (563, 567), (326, 330), (503, 506), (415, 418), (244, 247), (25, 31), (77, 86), (112, 129), (130, 146),
             (175, 186), (97, 107), (314, 325), (236, 239), (596, 600), (343, 348), (209, 214), (577, 584),
             (353, 356), (539, 546), (507, 516), (337, 342), (464, 474), (475, 483), (489, 502), (369, 376),
             (225, 232), (233, 235), (454, 463), (517, 528), (534, 538), (47, 54), (589, 595), (296, 305),
             (331, 336), (377, 383), (484, 488), (253, 257), (215, 224), (199, 208), (439, 445), (398, 407),
             (258, 264), (274, 283), (357, 363), (419, 429), (306, 313), (265, 273), (87, 92), (93, 96), (171, 174),
             (240, 243), (108, 111), (551, 558), (195, 198), (384, 389), (394, 397), (435, 438), (364, 368),
             (284, 290), (390, 393), (408, 414), (547, 550), (450, 453), (430, 434), (248, 252), (291, 295),
             (585, 588), (446, 449), (529, 533), (349, 352), (559, 562)]

# Data/action_index.json, by index (Action_dic_inv)
ACTION_DIC_INV = {i: n for i, n in enumerate([
    'surf_instr', 'ski_instr', 'cut_instr', 'walk', 'cut_obj', 'ride_instr', 'talk_on_phone_instr', 'kick_obj',
    'work_on_computer_instr', 'eat_obj', 'sit_instr', 'jump_instr', 'lay_instr', 'drink_instr', 'carry_obj',
    'throw_obj', 'eat_instr', 'smile', 'look_obj', 'hit_instr', 'hit_obj', 'snowboard_instr', 'run', 'point_instr',
    'read_obj', 'hold_obj', 'skateboard_instr', 'stand', 'catch_obj'])}

# Vcoco_lis_nis.py
object_mask = [[1e-05, 0.85], [0.0015, 0.8], [0.0002, 0.85], [0.001, 0.8], [0.0007, 0.85], [0.0007, 0.85],
               [0.002, 0.8], [1e-04, 0.85], [5e-05, 0.85], [1e-05, 0.85], [0.0007, 0.85], [0.0007, 0.85],
               [0.0007, 0.85], [0.0002, 0.85], [0.0007, 0.85], [1e-05, 0.85], [1e-05, 0.85], [0.01, 0.95],
               [0.0008, 0.8], [1e-05, 0.85], [5e-05, 0.95], [0.0007, 0.85], [0.0007, 0.85], [0.0007, 0.85],
               [0.00015, 1.0], [5e-05, 0.85], [1e-04, 0.9], [0.004, 0.75], [0.0004, 0.9], [0.01, 0.9], [0.01, 0.9],
               [1e-05, 0.95], [0.005, 0.95], [0.0007, 0.85], [1e-05, 0.85], [1e-05, 0.85], [5e-05, 0.95],
               [1e-05, 0.95], [0.001, 0.95], [0.05, 0.8], [0.005, 0.8], [0.1, 0.75], [0.005, 0.8], [0.001, 0.8],
               [0.007, 0.75], [0.0008, 0.8], [0.0015, 0.85], [0.004, 0.75], [0.0007, 0.9], [0.0004, 0.85],
               [0.00015, 0.8], [0.005, 0.8], [1e-04, 0.8], [0.0035, 0.8], [0.002, 0.9], [5e-05, 0.85], [0.005, 0.8],
               [0.0015, 0.85], [1e-05, 0.85], [0.0025, 0.9], [0.05, 0.75], [0.0007, 0.85], [0.0007, 0.85],
               [1e-05, 0.9], [0.0007, 0.85], [0.05, 0.9], [1e-05, 0.85], [0.0015, 1.0], [1e-05, 0.85],
               [1e-05, 0.85], [0.0007, 0.85], [0.0007, 0.85], [0.0007, 0.85], [0.003, 0.75], [0.0007, 0.85],
               [1e-05, 0.85], [0.0035, 0.9], [0.05, 0.75], [1e-05, 0.85], [1e-05, 0.85]]


# --------------------------------------------------------------------------------------------------
# test_HICO_pose_pattern_all_wise_pair.py im_detect
# --------------------------------------------------------------------------------------------------

def im_detect_pairs(dets, object_thres, human_thres, fallback=True, pad_missing=True):
    """``dets`` = Test_RCNN[image_id]: [_, 'Human' or name, box, _, class, score, pose] per detection.

    Returns the list of (Human_out, Object) entries the original scores, in its order. ``pad_missing=False``
    skips the -1 entries of the fallback (the fixed variant).
    """
    This_image = []
    for Human_out in dets:
        if (float(np.max(Human_out[5])) > human_thres) and (Human_out[1] == 'Human'):  # NumPy 1
            for Object in dets:
                if (float(np.max(Object[5])) > object_thres) and not (np.all(Object[2] == Human_out[2])):  # NumPy 1
                    This_image.append((Human_out, Object))

    if len(This_image) == 0 and fallback:
        list_human_included = []
        list_object_included = []
        Human_out_list = []
        Object_list = []
        test_pair_all = dets
        length = len(test_pair_all)
        flag_continue_searching = 1
        while (len(list_human_included) < human_num_thres) or (len(list_object_included) < object_num_thres):
            h_max = [-1, -1.0]
            o_max = [-1, -1.0]
            flag_continue_searching = 0
            for i in range(length):
                if test_pair_all[i][1] == 'Human':
                    if (np.max(test_pair_all[i][5]) > h_max[1]) and not (i in list_human_included) and len(list_human_included) < human_num_thres:
                        h_max = [i, np.max(test_pair_all[i][5])]
                        flag_continue_searching = 1
                else:
                    if np.max(test_pair_all[i][5]) > o_max[1] and not (i in list_object_included) and len(list_object_included) < object_num_thres:
                        o_max = [i, np.max(test_pair_all[i][5])]
                        flag_continue_searching = 1
            if flag_continue_searching == 0:
                break
            if pad_missing or h_max[0] != -1:
                list_human_included.append(h_max[0])
                Human_out_list.append(test_pair_all[h_max[0]])
            if pad_missing or o_max[0] != -1:
                list_object_included.append(o_max[0])
                Object_list.append(test_pair_all[o_max[0]])
        for Human_out in Human_out_list:
            for Object in Object_list:
                This_image.append((Human_out, Object))
    return This_image


# --------------------------------------------------------------------------------------------------
# HICO_Benchmark_Binary.py deal_with_det (D layout only) + Generate_HICO_detection_nis.py
# --------------------------------------------------------------------------------------------------

def d_scores(det_file):
    """(binary_score_nointer, binary_score_inter) as cal_rank_600 returns them: float32, flat over dict order."""
    pair_total_num = sum([len(value) for value in det_file.values()])
    binary_rank = np.zeros(pair_total_num + 1, dtype='float32')
    binary_score_inter = np.zeros(pair_total_num + 1, dtype='float32')
    pair_id = 0
    for image_id, value in det_file.items():
        for element in value:
            binary_rank[pair_id] = element[6][1]
            binary_score_inter[pair_id] = element[6][0]
            pair_id += 1
    return binary_rank, binary_score_inter


def getSigmoid(b, c, d, x, a=6):
    e = 2.718281828459
    return np.float64(a / (1 + e ** (b - c * float(x))) + d)  # NumPy 1: float64 for a numpy scalar x


def save_HICO(HICO, thres_no_inter, thres_inter, classid, begin, finish, binary_score_nointer, binary_score_inter,
              all_remaining, top_k=19999, lis=True, nis=True):
    all_boxes = []
    for i in range(finish - begin + 1):
        total = []
        score = []
        pair_id = 0
        for key, value in HICO.items():
            for element in value:
                if element[2] == classid:
                    temp = []
                    temp.append(element[0].tolist())
                    temp.append(element[1].tolist())
                    temp.append(int(key))
                    temp.append(int(i))

                    d_score = float(binary_score_inter[pair_id])  # NumPy 1
                    d_score_noi = float(binary_score_nointer[pair_id])  # NumPy 1

                    if lis:
                        score_old = element[3][begin - 1 + i] * getSigmoid(10, 1.4, 0, element[4]) * getSigmoid(10, 1.4, 0, element[5])
                    else:
                        score_old = np.float64(element[3][begin - 1 + i])
                    hoi_num = begin - 1 + i
                    score_new = score_old

                    if classid == 63:
                        thres_no_inter = 0.95
                        thres_inter = 0.15
                    elif classid == 43:
                        thres_no_inter = 0.85
                        thres_inter = 0.1
                    elif classid == 57:
                        thres_no_inter = 0.85
                        thres_inter = 0.2
                    elif classid == 48:
                        thres_no_inter = 0.85
                        thres_inter = 0.2
                    elif classid == 41:
                        thres_no_inter = 0.85
                        thres_inter = 0.15
                    elif classid == 2:
                        thres_inter = 0.2
                        thres_no_inter = 0.85
                    elif classid == 4:
                        thres_inter = 0.15
                        thres_no_inter = 0.85
                    elif classid == 31:
                        thres_inter = 0.1
                        thres_no_inter = 0.85
                    elif classid == 19:
                        thres_inter = 0.2
                        thres_no_inter = 0.85
                    elif classid == 1:
                        thres_inter = 0.05
                        thres_no_inter = 0.85
                    elif classid == 11:
                        thres_inter = 0.15
                        thres_no_inter = 0.85

                    if nis and (d_score_noi > thres_no_inter) and (d_score < thres_inter) and not (int(key) in all_remaining):
                        if not ((hoi_num + 1) in hoi_no_inter_all):
                            pair_id += 1
                            continue

                    temp.append(score_new)
                    total.append(temp)
                    score.append(score_new)

                if not (int(key) in all_remaining):
                    pair_id += 1

        idx = np.argsort(score, axis=0)[::-1]
        for i_idx in range(min(len(idx), top_k)):
            all_boxes.append(total[idx[i_idx]])
    return all_boxes


def generate_hico_detection(HICO, D, all_remaining, thres_no_inter=0.9, thres_inter=0.1, **kwargs):
    """{classid: all_boxes} of the 80 save_HICO calls; D scores from the pickle ``D`` (cal_rank_600)."""
    binary_score_nointer, binary_score_inter = d_scores(D)
    out = {}
    for classid in range(1, 81):
        begin, finish = hoi_range[classid - 1]
        out[classid] = save_HICO(HICO, thres_no_inter, thres_inter, classid, begin, finish, binary_score_nointer,
                                 binary_score_inter, all_remaining, **kwargs)
    return out


# --------------------------------------------------------------------------------------------------
# Vcoco_lis_nis.py
# --------------------------------------------------------------------------------------------------

def getSigmoid_vcoco(sigmoid_coeff, x):
    a, b, c, d = sigmoid_coeff
    e = 2.718281828459
    if not isinstance(x, np.ndarray):
        return np.float64(a / (1 + e ** (b - c * float(x))) + d)  # NumPy 1: float64 for a numpy scalar x
    return a / (1 + e ** (b - c * x)) + d


def apply_prior(Object_class, prediction):
    if Object_class != 32:
        prediction[0][0][21] = 0
    if Object_class != 74:
        prediction[0][0][24] = 0
    if Object_class != 33:
        prediction[0][0][7] = 0
    if (Object_class != 41) and (Object_class != 40) and (Object_class != 42) and (Object_class != 46):
        prediction[0][0][13] = 0
    if Object_class != 37:
        prediction[0][0][26] = 0
    if Object_class != 38:
        prediction[0][0][0] = 0
    if Object_class != 31:
        prediction[0][0][1] = 0
    if Object_class != 64:
        prediction[0][0][8] = 0
    if (Object_class != 77) and (Object_class != 43) and (Object_class != 44):
        prediction[0][0][2] = 0
    if (Object_class != 33) and (Object_class != 30):
        prediction[0][0][15] = 0
        prediction[0][0][28] = 0
    if Object_class != 68:
        prediction[0][0][6] = 0
    if (Object_class != 14) and (Object_class != 61) and (Object_class != 62) and (Object_class != 60) and (Object_class != 58) and (Object_class != 57):
        prediction[0][0][12] = 0
    if (Object_class != 32) and (Object_class != 31) and (Object_class != 37) and (Object_class != 38):
        prediction[0][0][11] = 0
    if (Object_class != 47) and (Object_class != 48) and (Object_class != 49) and (Object_class != 50) and (Object_class != 51) and (Object_class != 52) and (Object_class != 53) and (Object_class != 54) and (Object_class != 55) and (Object_class != 56):
        prediction[0][0][9] = 0
    if (Object_class != 43) and (Object_class != 44) and (Object_class != 45):
        prediction[0][0][16] = 0
    if (Object_class != 39) and (Object_class != 35):
        prediction[0][0][19] = 0
    if (Object_class != 33):
        prediction[0][0][20] = 0
    if (Object_class != 2) and (Object_class != 4) and (Object_class != 6) and (Object_class != 8) and (Object_class != 9) and (Object_class != 7) and (Object_class != 5) and (Object_class != 3) and (Object_class != 18) and (Object_class != 21):
        prediction[0][0][5] = 0
    if (Object_class != 2) and (Object_class != 4) and (Object_class != 18) and (Object_class != 21) and (Object_class != 14) and (Object_class != 57) and (Object_class != 58) and (Object_class != 60) and (Object_class != 62) and (Object_class != 61) and (Object_class != 29) and (Object_class != 27) and (Object_class != 25):
        prediction[0][0][10] = 0
    if (Object_class == 1):
        prediction[0][0][4] = 0
    return prediction


def generate_pkl(test_D, test_result, prior_mask, Action_dic_inv, sigmoid_coeff, prior_flag=3):
    """generate_pkl with mode != '3streamD'."""
    generate_result = []
    for tr in range(len(test_result)):
        dic = test_result[tr]
        dic_d = test_D[tr]

        image_id = dic['image_id']
        bbox_H = dic['person_box']
        det_H = getSigmoid_vcoco(sigmoid_coeff, dic['H_det'])
        score_H = dic['H_Score']
        score_binary = np.array(dic['binary_score'])
        bbox_O = np.array(dic['object_box'])
        class_O = np.array(dic['object_class'])
        det_O = np.array(getSigmoid_vcoco(sigmoid_coeff, np.array(dic['O_det'], dtype='float32')))
        score_HO = np.array(dic['HO_Score'])
        length = len(score_binary)
        if length == 0:
            continue
        score_binary_d = np.array(dic_d['binary_score'])
        length_d = len(score_binary_d)
        if length != length_d:
            print('wrong')
            continue

        dic_new = {}
        dic_new['image_id'] = image_id
        dic_new['person_box'] = bbox_H
        dic_new['binary_score'] = score_binary
        dic_new['object_box'] = bbox_O
        dic_new['object_class'] = class_O

        Score_obj = np.empty((0, 4 + 29), dtype=np.float32)
        prediction_H = score_H
        for i in range(length):
            prediction_HO = score_HO[i]
            class_id = class_O[i]
            O_bbox = bbox_O[i]
            O_det = det_O[i]
            if prior_flag == 1:
                prediction_HO = apply_prior(class_id, prediction_HO)
            if prior_flag == 2:
                prediction_HO = prediction_HO * prior_mask[:, class_id].reshape(1, 29)
            if prior_flag == 3:
                prediction_HO = apply_prior(class_id, prediction_HO)
                prediction_HO = prediction_HO * prior_mask[:, class_id].reshape(1, 29)
            This_Score_obj = np.concatenate((O_bbox.reshape(1, 4), prediction_HO[0] * O_det), axis=1)
            Score_obj = np.concatenate((Score_obj, This_Score_obj), axis=0)

        max_idx = np.argmax(Score_obj, 0)[4:]

        for i in range(29):
            if (i == 3) or (i == 17) or (i == 22) or (i == 27):
                agent_name = Action_dic_inv[i] + '_agent'
                dic_new[agent_name] = det_H * prediction_H[0][0][i]
                continue
            if i == 2:
                agent_name = 'cut_agent'
                dic_new[agent_name] = det_H * max(Score_obj[max_idx[2]][4 + 2], Score_obj[max_idx[4]][4 + 4])
                continue
            if i == 4:
                continue
            if i == 9:
                agent_name = 'eat_agent'
                dic_new[agent_name] = det_H * max(Score_obj[max_idx[9]][4 + 9], Score_obj[max_idx[16]][4 + 16])
                continue
            if i == 16:
                continue
            if i == 19:
                agent_name = 'hit_agent'
                dic_new[agent_name] = det_H * max(Score_obj[max_idx[19]][4 + 19], Score_obj[max_idx[20]][4 + 20])
                continue
            if i == 20:
                continue
            if i == 6:
                agent_name = 'talk_on_phone_agent'
                dic_new[agent_name] = det_H * Score_obj[max_idx[i]][4 + i]
                continue
            if i == 8:
                agent_name = 'work_on_computer_agent'
                dic_new[agent_name] = det_H * Score_obj[max_idx[i]][4 + i]
                continue
            agent_name = Action_dic_inv[i].split("_")[0] + '_agent'
            dic_new[agent_name] = det_H * Score_obj[max_idx[i]][4 + i]

        for i in range(29):
            this_index = class_O[max_idx[i]]
            inter_bound, no_inter_bound = object_mask[this_index - 1]
            if (i == 3) or (i == 17) or (i == 22) or (i == 27):
                dic_new[Action_dic_inv[i]] = np.append(np.full(4, np.nan).reshape(1, 4), det_H * prediction_H[0][0][i])
                continue
            if det_H * Score_obj[max_idx[i]][4 + i] == 0:
                dic_new[Action_dic_inv[i]] = np.append(np.full(4, np.nan).reshape(1, 4), det_H * Score_obj[max_idx[i]][4 + i])
            elif (float(score_binary_d[max_idx[i]][0]) < inter_bound and float(score_binary_d[max_idx[i]][1]) > no_inter_bound) or class_O[max_idx[i]] == 1:  # NumPy 1
                dic_new[Action_dic_inv[i]] = np.append(np.full(4, np.nan).reshape(1, 4), 0.0)
            else:
                dic_new[Action_dic_inv[i]] = np.append(Score_obj[max_idx[i]][:4], det_H * Score_obj[max_idx[i]][4 + i])
        generate_result.append(dic_new)
    return generate_result
