"""Direct transcription of TIN's HICO training-blob builder (ult.py,
``Get_Next_Instance_HO_Neg_HICO_pose_pattern_version2`` and
``Augmented_HO_Neg_HICO_pose_pattern_version2``), kept as an independent reference.

Differences from the original, on purpose and only these:
- the image is passed in (not read from ``cfg.DATA_DIR``);
- ``randint`` / ``sample`` are passed in (the original used the global ``random``);
- ``GT`` is the chunk (list of GT entries) and ``Trainval_Neg`` the Neg dict, as there.
"""

import numpy as np

from tests.reference.tin_original import Augmented_box, Get_next_sp_with_pose

PIXEL_MEANS = np.array([[[102.9801, 115.9465, 122.7717]]])


def Generate_action_HICO(action_list):
    action_ = np.zeros(600)
    for GT_idx in action_list:
        action_[GT_idx] = 1
    action_ = action_.reshape(1, 600)
    return action_


def image_blob(im):
    im_orig = im.astype(np.float32, copy=True)
    im_orig -= PIXEL_MEANS
    im_shape = im_orig.shape
    im_orig = im_orig.reshape(1, im_shape[0], im_shape[1], 3)
    return im_orig, im_shape


def Augmented_HO_Neg_HICO_pose_pattern_version2(GT, Trainval_Neg, shape, Pos_augment, Neg_select,
                                                randint, sample):
    GT_count = len(GT)
    aug_all = int(Pos_augment / GT_count)
    aug_last = Pos_augment - aug_all * (GT_count - 1)
    image_id = GT[0][0]

    Human_augmented, Object_augmented, action_HO = [], [], []
    Pattern = np.empty((0, 64, 64, 3), dtype=np.float32)

    for i in range(GT_count - 1):
        Human = GT[i][2]
        Object = GT[i][3]

        Human_augmented_temp = Augmented_box(Human, shape, image_id, aug_all, rand=randint)
        Object_augmented_temp = Augmented_box(Object, shape, image_id, aug_all, rand=randint)

        length_min = min(len(Human_augmented_temp), len(Object_augmented_temp))

        Human_augmented_temp = Human_augmented_temp[:length_min]
        Object_augmented_temp = Object_augmented_temp[:length_min]

        action_HO__temp = Generate_action_HICO(GT[i][1])
        action_HO_temp = action_HO__temp
        for j in range(length_min - 1):
            action_HO_temp = np.concatenate((action_HO_temp, action_HO__temp), axis=0)

        for j in range(length_min):
            Pattern_ = Get_next_sp_with_pose(Human_augmented_temp[j][1:], Object_augmented_temp[j][1:], GT[i][5]).reshape(1, 64, 64, 3)
            Pattern = np.concatenate((Pattern, Pattern_), axis=0)

        Human_augmented.extend(Human_augmented_temp)
        Object_augmented.extend(Object_augmented_temp)
        action_HO.extend(action_HO_temp)

    Human = GT[GT_count - 1][2]
    Object = GT[GT_count - 1][3]

    Human_augmented_temp = Augmented_box(Human, shape, image_id, aug_last, rand=randint)
    Object_augmented_temp = Augmented_box(Object, shape, image_id, aug_last, rand=randint)

    length_min = min(len(Human_augmented_temp), len(Object_augmented_temp))

    Human_augmented_temp = Human_augmented_temp[:length_min]
    Object_augmented_temp = Object_augmented_temp[:length_min]

    action_HO__temp = Generate_action_HICO(GT[GT_count - 1][1])
    action_HO_temp = action_HO__temp
    for j in range(length_min - 1):
        action_HO_temp = np.concatenate((action_HO_temp, action_HO__temp), axis=0)

    for j in range(length_min):
        Pattern_ = Get_next_sp_with_pose(Human_augmented_temp[j][1:], Object_augmented_temp[j][1:], GT[GT_count - 1][5]).reshape(1, 64, 64, 3)
        Pattern = np.concatenate((Pattern, Pattern_), axis=0)

    Human_augmented.extend(Human_augmented_temp)
    Object_augmented.extend(Object_augmented_temp)
    action_HO.extend(action_HO_temp)

    num_pos = len(Human_augmented)

    if image_id in Trainval_Neg:

        if len(Trainval_Neg[image_id]) < Neg_select:
            for Neg in Trainval_Neg[image_id]:
                Human_augmented = np.concatenate((Human_augmented, np.array([0, Neg[2][0], Neg[2][1], Neg[2][2], Neg[2][3]]).reshape(1, 5)), axis=0)
                Object_augmented = np.concatenate((Object_augmented, np.array([0, Neg[3][0], Neg[3][1], Neg[3][2], Neg[3][3]]).reshape(1, 5)), axis=0)
                action_HO = np.concatenate((action_HO, Generate_action_HICO([Neg[1]])), axis=0)
                Pattern_ = Get_next_sp_with_pose(np.array(Neg[2], dtype='float64'), np.array(Neg[3], dtype='float64'), Neg[7]).reshape(1, 64, 64, 3)
                Pattern = np.concatenate((Pattern, Pattern_), axis=0)
        else:
            List = sample(range(len(Trainval_Neg[image_id])), len(Trainval_Neg[image_id]))
            for i in range(Neg_select):
                Neg = Trainval_Neg[image_id][List[i]]

                Human_augmented = np.concatenate((Human_augmented, np.array([0, Neg[2][0], Neg[2][1], Neg[2][2], Neg[2][3]]).reshape(1, 5)), axis=0)
                Object_augmented = np.concatenate((Object_augmented, np.array([0, Neg[3][0], Neg[3][1], Neg[3][2], Neg[3][3]]).reshape(1, 5)), axis=0)
                action_HO = np.concatenate((action_HO, Generate_action_HICO([Neg[1]])), axis=0)
                Pattern_ = Get_next_sp_with_pose(np.array(Neg[2], dtype='float64'), np.array(Neg[3], dtype='float64'), Neg[7]).reshape(1, 64, 64, 3)
                Pattern = np.concatenate((Pattern, Pattern_), axis=0)

    num_pos_neg = len(Human_augmented)

    Pattern = Pattern.reshape(num_pos_neg, 64, 64, 3)
    Human_augmented = np.array(Human_augmented, dtype='float32').reshape(num_pos_neg, 5)
    Object_augmented = np.array(Object_augmented, dtype='float32').reshape(num_pos_neg, 5)
    action_HO = np.array(action_HO, dtype='int32').reshape(num_pos_neg, 600)

    binary_label = np.zeros((num_pos_neg, 2), dtype='int32')
    for i in range(num_pos):
        binary_label[i][0] = 1
    for i in range(num_pos, num_pos_neg):
        binary_label[i][1] = 1

    return Pattern, Human_augmented, Object_augmented, action_HO, num_pos, binary_label


def changeForm(Trainval_GT, interval_divide):
    GT_dict = {}
    for item in Trainval_GT:
        try:
            GT_dict[item[0]].append(item)
        except KeyError:
            GT_dict[item[0]] = [item]

    GT_new = []
    for image_id, value in GT_dict.items():
        count = 0
        length = len(value)
        while count < length:
            temp = value[count: min(count + interval_divide, length)]
            count += len(temp)
            GT_new.append(temp)

    return GT_new
